// Bedrock-format routes: `POST /model/{modelId}/converse` and
// `/converse-stream`, as the AWS SDK's Bedrock Runtime client calls them.
// The SDK's bearer token (`AWS_BEARER_TOKEN_BEDROCK`) is a Sluice key.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { bedrockConverse } from "../formats/bedrock/index.ts";
import { checkedName, modelName } from "../formats/fields.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { proxy } from "../routing/proxy.ts";
import { endpoint } from "./endpoint.ts";

/** `/model/us.anthropic.claude-…%3A0/converse-stream` → model and action. */
const MODEL_ACTION = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

async function converse(c: GatewayContext): Promise<Response> {
  const match = MODEL_ACTION.exec(c.req.path);
  if (!match) throw new GatewayError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`);
  let model: string;
  try {
    model = decodeURIComponent(match[1] ?? "");
  } catch {
    throw badRequest("Invalid `modelId`: the path's model id is not valid percent-encoding", "modelId");
  }
  const body = await parseJsonBody(c, bedrockConverse.schema);
  return await proxy(c, bedrockConverse, body, {
    model: checkedName(modelName, model, "modelId"),
    stream: match[2] === "converse-stream",
  });
}

export const bedrockRoutes = new Hono<GatewayEnv>();

const gated = endpoint({ errors: "bedrock", gated: true, pathParam: "modelId" });
bedrockRoutes.post(
  "/model/:modelId/converse",
  gated,
  doc(
    DESCRIBE && {
      summary: "Bedrock Converse, any provider",
      body: bedrockConverse.schema,
      response: { description: "A Converse response" },
    },
  ),
  converse,
);
bedrockRoutes.post(
  "/model/:modelId/converse-stream",
  gated,
  doc(
    DESCRIBE && {
      summary: "Bedrock ConverseStream, any provider",
      body: bedrockConverse.schema,
      response: {
        description: "ConverseStream's events (messageStart … metadata) as AWS event-stream messages",
        streams: true,
      },
    },
  ),
  converse,
);
