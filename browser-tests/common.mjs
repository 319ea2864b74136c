// What the browser scripts share: Debian's Chromium launched headless for this closed machine,
// axe-core's WCAG 2.1 A/AA check of a page, and failing with a French message.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export function fail(message) {
  console.error(`ÉCHEC : ${message}`);
  process.exit(1);
}

// axe is injected by the test harness (CDP), not by the page: the CSP stays strict.
export async function accessible(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () =>
    await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  if (result.violations.length > 0) {
    const detail = result.violations.map((v) => `${v.id} (${v.nodes.length}) : ${v.help} — ${v.nodes[0].html}`).join("; ");
    fail(`${name} : ${detail}`);
  }
  console.log(`axe ${name} : aucune violation (${result.passes.length} règles respectées)`);
}

export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}
