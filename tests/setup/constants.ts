export const TEST_ADMIN_KEY = "sk-admin-test-0123456789abcdef";
