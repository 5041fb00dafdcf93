export const TEST_ADMIN_KEY = "sk-admin-test-0123456789abcdef";
export const TEST_JWT_SECRET = "test-app-jwt-secret-0123456789abcdef";
export const TEST_JWT_ISSUER = "https://auth.example.com/";
export const TEST_JWT_AUDIENCE = "sluice-test-app";
/** Key-encryption keys for stored provider credentials: the one tests start with, and the one they rotate to. */
export const TEST_ENCRYPTION_KEY = "Xr3sLO3Kf9EfF6RutTeuMdb9m+8Bn47HC5Bmv4LPEtk=";
export const TEST_ENCRYPTION_KEY_NEXT = "v2:YmWJV/ax1jXaTk6qwBNtZNWUaIdZ0ceWh5oZi+4Ae/8=";
