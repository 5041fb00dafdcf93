// The Worker's build of `#describe` (see describe.ts): routes carry no descriptions.
export const DESCRIBE = false;
