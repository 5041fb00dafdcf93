// A caller's `request_limits` over a realtime session. Nothing of a session
// is known when it opens but what it can send: audio appended to its input
// and text in its items. A caller who may not send either is refused the
// session, as a request past its shape limits is; the limits on a prompt's
// size have no prompt to read.
import type { Principal } from "../auth/principal.ts";
import { principalPolicy } from "../auth/principal.ts";
import type { FoundModality } from "../guardrails/modalities.ts";
import { checkRequestLimits, type ShapeRefusal } from "../guardrails/request-limits.ts";

/** What a session sends, by kind, and the event that sends it. */
const SESSION_INPUT: readonly FoundModality[] = [
  { modality: "audio", field: "input_audio_buffer.append" },
  { modality: "text", field: "conversation.item.create" },
];

/** The refusal of a session the caller's `request_limits` do not allow; undefined when they allow it (or say nothing). */
export function sessionLimitRefusal(principal: Principal): ShapeRefusal | undefined {
  const limits = principalPolicy(principal)?.request_limits;
  if (!limits) return undefined;
  return checkRequestLimits({}, limits, {
    inputTokens: () => 0,
    outputCap: undefined,
    sentBeside: (refused) => SESSION_INPUT.find((input) => refused(input.modality)),
  });
}
