// Browser tests of Passerelle's pages, run by tests/browser.rs against a real server:
// node run.mjs <base-url> <email> <password>
// Debian's Chromium (headless) driven by playwright-core; every page checked with axe-core
// (WCAG 2.1 A and AA rules). Prints one line per check; exits 1 at the first failure.
import { accessible, fail, launch } from "./common.mjs";

const [base, email, password, siteEmail, voucher, prescriberEmail] = process.argv.slice(2);

const browser = await launch();
const errors = [];
try {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  // The refused sign-in answers 401 on purpose; any other error in the console fails.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("status of 401")) errors.push(m.text());
  });

  await page.goto(`${base}/connexion`);
  if ((await page.getAttribute("html", "lang")) !== "fr") fail("langue de la page de connexion");
  await accessible(page, "connexion");

  // A wrong password says so.
  await page.fill("#email", email);
  await page.fill("#password", "pas le bon mot de passe");
  await page.click("button[type=submit]");
  if (!(await page.textContent("[role=alert]")).includes("incorrect")) fail("message d'erreur de connexion");
  await accessible(page, "connexion refusée");

  // Keyboard only: tab to the fields, type, submit with Enter.
  await page.goto(`${base}/connexion`);
  await page.keyboard.press("Tab"); // the home link
  await page.keyboard.press("Tab");
  if ((await page.evaluate(() => document.activeElement.id)) !== "email") fail("ordre du focus : l'adresse d'abord");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForURL(`${base}/`);
  if (!(await page.textContent("h1")).startsWith("Bonjour")) fail("page d'accueil après connexion");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "psl_session");
  if (!session || !session.httpOnly || session.sameSite !== "Lax") fail(`cookie de session ${JSON.stringify(session)}`);
  await accessible(page, "accueil");
  console.log("connexion au clavier : accueil affiché");

  await page.click("text=Changer mon mot de passe");
  await accessible(page, "mot de passe");

  await page.goto(`${base}/v?code=7KQ2-M9XD-3TWP-A`);
  await accessible(page, "vérification d'un chèque");

  await page.goto(`${base}/`);
  await page.click("text=Se déconnecter");
  await page.waitForURL(`${base}/connexion`);
  await page.goto(`${base}/`);
  if (!page.url().endsWith("/connexion")) fail("la session reste ouverte après déconnexion");
  console.log("déconnexion : session fermée");
  // A site's member records a passage: check, confirm, receipt.
  await page.goto(`${base}/connexion`);
  await page.fill("#email", siteEmail);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/`);
  await page.click("text=Enregistrer un passage");
  await accessible(page, "passage");
  await page.selectOption("#service", "DEM-ACCOMP");
  await page.fill("#codes", voucher);
  await page.click("text=Vérifier");
  if (!(await page.textContent("li.ok")).includes("valable")) fail("le chèque n'est pas affiché valable");
  await accessible(page, "passage vérifié");
  await page.click("text=Confirmer le passage");
  if (!(await page.textContent("h1")).includes("Passage enregistré")) fail("pas de reçu");
  await accessible(page, "reçu");
  console.log("passage : vérifié, confirmé, reçu affiché");

  // A prescriber's page to hand a book over.
  await context.clearCookies();
  await page.goto(`${base}/connexion`);
  await page.fill("#email", prescriberEmail);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/`);
  await page.click("text=Remettre un carnet");
  await accessible(page, "remise d'un carnet");
  await page.fill("#voucher", "ABCD-EFGH-JKMN-P");
  await page.fill("#commune", "Saint-Médard");
  await page.click("button[type=submit]");
  await accessible(page, "remise : choix de la commune");
  if (errors.length > 0) fail(`erreurs dans la console : ${errors.join(" | ")}`);
} finally {
  await browser.close();
}
