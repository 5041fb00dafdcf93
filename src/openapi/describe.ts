// Whether routes carry their descriptions (`doc(DESCRIBE && { … })`): in
// Node, where /openapi.json is generated and the docs are checked, they do.
// The Worker's build resolves `#describe` to describe.worker.ts instead
// (package.json's `imports`, under the `workerd` condition), where this is
// false, so the bundler drops every summary and description from the bundle.
export const DESCRIBE = true;
