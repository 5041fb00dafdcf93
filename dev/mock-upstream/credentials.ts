// Credentials the mock upstream accepts for the providers that sign or
// exchange them (Bedrock, Vertex AI). Plain constants, so tests in workerd
// can import them too.

/** The one AWS key pair the mock's Bedrock knows; any other key id is refused, a wrong signature too. */
export const MOCK_AWS_ACCESS_KEY_ID = "AKIAMOCKBEDROCK00001";
export const MOCK_AWS_SECRET_ACCESS_KEY = "mock/bedrock/secret+access/key/0001";
export const MOCK_AWS_REGION = "us-east-1";

/** Where the mock hands out its Vertex AI service account key (made fresh at each start). */
export const MOCK_VERTEX_ACCOUNT_PATH = "/__mock/vertex/service-account";

/** The OAuth client the mock's Google knows, and the account every consent signs in as. */
export const MOCK_GOOGLE_CLIENT_ID = "sluice-mock.apps.googleusercontent.com";
export const MOCK_GOOGLE_CLIENT_SECRET = "GOCSPX-mock-client-secret";
export const MOCK_GOOGLE_EMAIL = "gemini.user@example.com";

/** Azure OpenAI: the resource's API key, and the Entra ID application the mock's sign-in host knows. */
export const MOCK_AZURE_API_KEY = "mock-azure-openai-key-0001";
export const MOCK_ENTRA_TENANT = "sluice-mock.onmicrosoft.com";
export const MOCK_ENTRA_CLIENT_ID = "00000000-0000-0000-0000-00000000a2e1";
export const MOCK_ENTRA_CLIENT_SECRET = "mock~entra~client~secret~0001";
/** Where the mock's Entra ID signs in: an `authority_host` pointing here gets tokens at `/<tenant>/oauth2/v2.0/token`. */
export const MOCK_ENTRA_AUTHORITY_PATH = "/__mock/entra";

/** The OpenID Connect client the mock's identity provider knows, for single sign-on to the dashboard. */
export const MOCK_OIDC_CLIENT_ID = "sluice-dashboard";
export const MOCK_OIDC_CLIENT_SECRET = "mock-oidc-client-secret-0001";
/** Where the mock's identity provider lives: its discovery document is at `<this>/.well-known/openid-configuration`. */
export const MOCK_OIDC_PATH = "/__mock/oidc";
