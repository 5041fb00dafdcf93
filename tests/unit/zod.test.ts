// zod comes to every module through src/zod.ts: its mini build, which the
// bundler shakes down to the parts used, with the English messages callers'
// errors quote. A module importing the classic build directly would put all
// of it back in the Worker (about 55 KB minified), so none may.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as z from "../../src/zod.ts";
import { ROOT } from "../docs/markdown.ts";

const SRC = `${ROOT}src`;

function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return /\.ts$/.test(entry.name) ? [{ path, text: readFileSync(path, "utf8") }] : [];
  });
}

/** The modules that import zod from anywhere but src/zod.ts. */
function directZodImports(files: { path: string; text: string }[]): string[] {
  return files
    .filter((file) => !file.path.endsWith("/src/zod.ts") && /from "zod(\/[^"]*)?"/.test(file.text))
    .map((file) => file.path.slice(file.path.indexOf("/src/") + 1));
}

describe("src/zod.ts", () => {
  it("gives the messages in English", () => {
    const parsed = z.object({ model: z.string().check(z.maxLength(3)) }).safeParse({ model: 7 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe("Invalid input: expected string, received number");
    expect(z.string().check(z.maxLength(3)).safeParse("four").error?.issues[0]?.message).toBe(
      "Too big: expected string to have <=3 characters",
    );
  });

  it("is the only way into zod", () => {
    const files = sources(SRC);
    expect(files.length).toBeGreaterThan(200);
    expect(directZodImports(files)).toEqual([]);
    const classic = [{ path: "/work/src/formats/x.ts", text: 'import * as z from "zod";\n' }];
    expect(directZodImports(classic)).toEqual(["src/formats/x.ts"]);
  });
});
