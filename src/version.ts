// Sluice's version, as package.json names it. Imported by name, so the
// bundle carries this one field rather than the whole manifest.
export { version as VERSION } from "../package.json";
