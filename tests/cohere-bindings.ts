// Cohere configured with the mock upstream, beside the providers the other tests use.
import { mockProviderBindings } from "./helpers.ts";

const mockRoot = String(mockProviderBindings.MOCK_BASE_URL).replace(/\/v1$/, "");

export const cohereBindings = {
  ...mockProviderBindings,
  COHERE_BASE_URL: `${mockRoot}/v2`,
  COHERE_API_KEY: "cohere-test-key",
};
