export const TEST_ADMIN_KEY = "sk-admin-test-0123456789abcdef";
export const TEST_JWT_SECRET = "test-app-jwt-secret-0123456789abcdef";
export const TEST_JWT_ISSUER = "https://auth.example.com/";
export const TEST_JWT_AUDIENCE = "sluice-test-app";
