// SigV4: the mock upstream's checker against AWS's documented example, and
// the signing library the gateway uses against the checker.
import { AwsV4Signer } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { expectedSignature, signatureParts, signatureProblem } from "../../dev/mock-upstream/sigv4.ts";

describe("AWS Signature Version 4", () => {
  it("matches the example in AWS's documentation (IAM ListUsers)", () => {
    const parts = signatureParts(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    );
    expect(parts).toBeDefined();
    const signature = expectedSignature(
      {
        method: "GET",
        url: "/?Action=ListUsers&Version=2010-05-08",
        headers: {
          "content-type": "application/x-www-form-urlencoded; charset=utf-8",
          host: "iam.amazonaws.com",
          "x-amz-date": "20150830T123600Z",
        },
        body: "",
      },
      parts as NonNullable<typeof parts>,
      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    );
    expect(signature).toBe("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  });

  const secrets = { AKIAUNITTEST00000001: "unit/test/secret/key/00000000001" };

  async function signed(body: string, model = "us.anthropic.claude-sonnet-4-20250514-v1:0") {
    const signer = new AwsV4Signer({
      url: `http://127.0.0.1:9/model/${encodeURIComponent(model)}/converse`,
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body,
      accessKeyId: "AKIAUNITTEST00000001",
      secretAccessKey: secrets.AKIAUNITTEST00000001,
      service: "bedrock",
      region: "eu-west-1",
    });
    const request = await signer.sign();
    const url = new URL(request.url);
    return {
      method: "POST",
      url: url.pathname + url.search,
      headers: { ...Object.fromEntries(request.headers), host: url.host },
      body,
    };
  }

  it("holds for a Bedrock request signed by the gateway's library, a model id with a colon included", async () => {
    const request = await signed('{"messages":[]}');
    expect(request.url).toBe("/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse");
    expect(signatureProblem(request, secrets)).toBeUndefined();
  });

  it("fails for a changed body, an unknown key, or a stale date", async () => {
    const request = await signed('{"messages":[]}');
    expect(signatureProblem({ ...request, body: '{"messages":[1]}' }, secrets)?.type).toBe("InvalidSignatureException");
    expect(signatureProblem(request, {})?.type).toBe("UnrecognizedClientException");
    expect(signatureProblem(request, secrets, Date.now() + 10 * 60_000)?.type).toBe("InvalidSignatureException");
  });
});
