// Screenshots of the main pages at phone and desktop widths, for docs/screenshots/:
// node screenshots.mjs <base-url> <site-email> <prescriber-email> <password> <out-dir> <operator-email> <funder-email>
// Run by scripts/screenshots.sh against a fresh demo.
import { launch } from "./common.mjs";

const [base, siteEmail, prescriberEmail, password, out, operatorEmail, funderEmail] = process.argv.slice(2);
const browser = await launch();
const sizes = { telephone: { width: 390, height: 844 }, bureau: { width: 1280, height: 800 } };
try {
  for (const [size, viewport] of Object.entries(sizes)) {
    const context = await browser.newContext({ viewport, locale: "fr-FR", deviceScaleFactor: 1 });
    const page = await context.newPage();
    const shot = async (name) => page.screenshot({ path: `${out}/${name}-${size}.png`, fullPage: true });
    const signIn = async (email) => {
      await context.clearCookies();
      await page.goto(`${base}/connexion`);
      await page.fill("#email", email);
      await page.fill("#password", password);
      await page.click("button[type=submit]");
      await page.waitForURL(`${base}/`);
    };
    await page.goto(`${base}/connexion`);
    await shot("connexion");
    await page.goto(`${base}/v?code=7KQ2-M9XD-3TWP-A`);
    await shot("verification");
    await signIn(siteEmail);
    await shot("accueil-lieu");
    await page.goto(`${base}/passage`);
    await shot("passage");
    await signIn(prescriberEmail);
    await page.goto(`${base}/remise`);
    await shot("remise");
    await page.goto(`${base}/carnets`);
    await shot("carnets-prescripteur");
    await signIn(operatorEmail);
    await shot("accueil-operateur");
    await page.goto(`${base}/commandes`);
    await shot("commandes-operateur");
    await page.goto(`${base}/reglements`);
    await shot("reglements");
    await page.goto(`${base}/grand-livre`);
    await shot("grand-livre");
    await signIn(funderEmail);
    // The statistics are refreshed every few seconds after the demo starts.
    await page.waitForTimeout(8000);
    await page.goto(`${base}/tableau-de-bord`);
    await shot("tableau-de-bord-financeur");
    await page.goto(`${base}/carnets`);
    await shot("carnets-financeur");
    await signIn(siteEmail);
    await page.goto(`${base}/passages`);
    await shot("passages-lieu");
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`captures écrites dans ${out}`);
