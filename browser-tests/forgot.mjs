// « Mot de passe oublié » in Chromium, run by tests/browser.rs (forgot_password_in_chromium)
// against a real server whose messages go to a real SMTP server, in two steps:
//   node forgot.mjs request <base-url> <email>
//     the sign-in page's link, the form, the answer (every page checked by axe);
//   node forgot.mjs choose <base-url> <link> <email> <new password>
//     the link received by email: the form, the new password, signing in with it; the link
//     opened again says it no longer works.
// Prints one line per check; exits 1 at the first failure.
import { accessible, fail, launch } from "./common.mjs";

const [step, base, ...rest] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await (await browser.newContext({ locale: "fr-FR" })).newPage();
  if (step === "request") {
    const [email] = rest;
    await page.goto(`${base}/connexion`);
    await page.click("text=Mot de passe oublié ?");
    await page.waitForURL(`${base}/mot-de-passe-oublie`);
    await accessible(page, "mot de passe oublié");
    await page.fill("#email", email);
    await page.click("button[type=submit]");
    const said = await page.textContent("[role=status]");
    if (!said.includes("Si un compte existe pour cette adresse")) fail(`réponse à la demande : ${said}`);
    await accessible(page, "mot de passe oublié : demande envoyée");
    console.log("mot de passe oublié : demande envoyée");
  } else if (step === "choose") {
    const [link, email, password] = rest;
    await page.goto(link);
    await accessible(page, "nouveau mot de passe");
    await page.fill("#new", password);
    await page.fill("#confirm", password);
    await page.click("button[type=submit]");
    const said = await page.textContent("[role=status]");
    if (!said.includes("votre mot de passe est enregistré")) fail(`nouveau mot de passe : ${said}`);
    await accessible(page, "nouveau mot de passe enregistré");
    await page.click("text=Se connecter");
    await page.fill("#email", email);
    await page.fill("#password", password);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}/`);
    if (!(await page.textContent("h1")).startsWith("Bonjour")) fail("connexion avec le nouveau mot de passe");
    console.log("nouveau mot de passe : enregistré, connexion réussie");
    await page.goto(link);
    if (!(await page.textContent("main")).includes("Ce lien n'est plus valable")) fail("lien utilisé deux fois");
    await accessible(page, "lien déjà utilisé");
    console.log("lien déjà utilisé : refusé");
  } else {
    fail(`étape inconnue : ${step}`);
  }
} finally {
  await browser.close();
}
