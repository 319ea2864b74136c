// Each role's main work in Debian's Chromium (headless, driven by playwright-core), every page
// checked with axe-core; run by tests/browser.rs against a real server:
// node roles.mjs '<json: base, password, operator, funder, prescriber, site, siteB, camera, firstCode, secondQr>'
// The camera is Chromium's fake capture device playing a Y4M file that shows a voucher's QR code.
// Prints one line per finished task; exits 1 at the first failure.
import { accessible, fail, launch } from "./common.mjs";

const cfg = JSON.parse(process.argv[2]);
const base = cfg.base;

async function notice(page, expected, what) {
  const box = page.locator("main > div[role]").first();
  const text = (await box.count()) > 0 ? await box.textContent() : "(aucun message)";
  if (!text.includes(expected)) fail(`${what} : « ${expected} » attendu, lu « ${text.trim()} »`);
}

async function signIn(page, email) {
  await page.context().clearCookies();
  await page.goto(`${base}/connexion`);
  await page.fill("#email", email);
  await page.fill("#password", cfg.password);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/`);
  await accessible(page, `accueil de ${email}`);
}

// The row of a table that contains `text`.
function row(page, text) {
  return page.locator("tr", { hasText: text }).first();
}

const browser = await launch(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  `--use-file-for-fake-video-capture=${cfg.camera}`]);
const errors = [];
try {
  const context = await browser.newContext({ locale: "fr-FR", permissions: ["camera"] });
  const page = await context.newPage();
  page.on("console", (m) => {
    // Expected refusals (401/403/404/409/422 answers) are shown to the person; others fail.
    if (m.type() === "error" && !/status of (40[1349]|422)/.test(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));

  // ---- Operator ----------------------------------------------------------------------------
  await signIn(page, cfg.operator);
  await page.click("text=Commandes : créer");
  await accessible(page, "commandes");
  const form = page.locator("form", { hasText: "Commande en brouillon" });
  await form.getByLabel("Libellé").fill("Commande navigateur");
  await form.getByLabel("Nombre de carnets").fill("2");
  await form.getByLabel("Chèques par carnet").fill("2");
  await form.getByLabel("Valable jusqu'au").fill("2030-12-31");
  await form.getByLabel("Territoire").fill("33");
  await form.getByRole("button", { name: "Créer la commande" }).click();
  await notice(page, "C'est fait", "création de la commande");
  await accessible(page, "commandes après création");
  await row(page, "Commande navigateur").getByRole("button", { name: "Confirmer" }).click();
  await notice(page, "C'est fait", "confirmation");
  await row(page, "Commande navigateur").getByRole("button", { name: "Émettre" }).click();
  await notice(page, "C'est fait", "émission");
  await row(page, "Commande navigateur").getByRole("link", { name: "Voir" }).click();
  const detail = page.url();
  for (let i = 0; i < 50 && !(await page.textContent("main")).includes("Carnets à imprimer"); i++) {
    await page.waitForTimeout(200);
    await page.goto(detail);
  }
  await accessible(page, "détail d'une commande émise");
  const pdf = await page.request.get(base + await page.getAttribute("text=Carnets à imprimer (PDF)", "href"));
  if (pdf.headers()["content-type"] !== "application/pdf") fail("les carnets ne se téléchargent pas en PDF");
  const assign = page.locator("form", { hasText: "Confier des carnets" });
  await assign.getByLabel("Au carnet n°").fill("2");
  await assign.getByRole("button", { name: "Confier" }).click();
  await notice(page, "2 carnet(s) confié(s)", "carnets confiés");
  console.log("opérateur : commande créée, confirmée, émise, carnets confiés");

  await page.goto(`${base}/lieux`);
  await accessible(page, "lieux");
  await page.goto(`${base}/lieux/${cfg.siteB}`);
  await accessible(page, "détail d'un lieu");
  const decision = page.locator("form", { hasText: "Décision d'agrément" });
  await decision.getByLabel("Décision").selectOption("suspended");
  await decision.getByLabel("Motif").fill("Contrôle en cours");
  await decision.getByRole("button", { name: "Enregistrer la décision" }).click();
  await notice(page, "C'est fait", "suspension");
  await page.goto(`${base}/catalogue`);
  const service = page.locator("form", { hasText: "un code existant" });
  await service.getByLabel("Code").fill("NAV-TEST");
  await service.getByLabel("Libellé").fill("Service ajouté dans le navigateur");
  await service.getByLabel("Durée en minutes").fill("45");
  await service.getByLabel("Prix en chèques").fill("1");
  await service.getByRole("button", { name: "Enregistrer le service" }).click();
  await notice(page, "C'est fait", "service ajouté");
  if (!(await page.textContent("main")).includes("Service ajouté dans le navigateur")) fail("service absent du catalogue");
  await accessible(page, "catalogue");
  await page.goto(`${base}/grand-livre`);
  await page.click("text=Contrôler le grand livre");
  if (!(await page.textContent("main")).includes("Aucune anomalie")) fail("contrôle du grand livre");
  await accessible(page, "grand livre");
  await page.locator("tbody a").first().click();
  await accessible(page, "relevé d'un compte");
  for (const [path, name] of [["/tableau-de-bord", "tableau de bord de l'opérateur"], ["/reglements", "règlements"], ["/journal", "journal d'audit"], ["/anomalies", "anomalies"],
    ["/organisations", "financeurs et prescripteurs"]]) {
    await page.goto(`${base}${path}`);
    await accessible(page, name);
  }
  if (!(await page.textContent("main")).includes("Membres")) fail("lien vers les membres");
  await page.goto(`${base}/membres`);
  const invite = page.locator("form", { hasText: "Inviter un membre" });
  await invite.getByLabel("Nom et prénom").fill("Camille Nouvelle");
  await invite.getByLabel("Adresse électronique").fill("camille@passerelle.test");
  await invite.getByRole("button", { name: "Inviter" }).click();
  await notice(page, "Mot de passe provisoire", "invitation");
  const provisional = (await page.textContent("code.secret")).trim();
  await accessible(page, "membres après invitation");
  await row(page, "camille@passerelle.test").getByRole("button", { name: "Nouveau mot de passe" }).click();
  await notice(page, "Mot de passe provisoire", "réinitialisation");
  if ((await page.textContent("code.secret")).trim() === provisional) fail("le nouveau mot de passe est l'ancien");
  console.log("opérateur : agrément suspendu, service ajouté, grand livre contrôlé, membre invité");

  // ---- Funder -------------------------------------------------------------------------------
  await signIn(page, cfg.funder);
  await page.click("text=Mes commandes");
  if (!(await page.textContent("main")).includes("Commande navigateur")) fail("la commande du financeur");
  await accessible(page, "commandes du financeur");
  await page.goto(`${base}/`);
  await page.click("text=Tableau de bord");
  if (!(await page.textContent("main")).includes("Chiffres clés")) fail("tableau de bord du financeur");
  if ((await page.locator("svg[role=img]").count()) < 2) fail("graphiques du tableau de bord");
  await accessible(page, "tableau de bord du financeur");
  const report = await page.request.get(base + await page.getAttribute("text=Rapport d'impact (PDF)", "href"));
  if (report.headers()["content-type"] !== "application/pdf") fail("rapport d'impact");
  await page.goto(`${base}/`);
  await page.click("text=Carnets par prescripteur");
  const funderBooks = row(page, "prescriber");
  if ((await funderBooks.count()) === 0) fail("aucune ligne par prescripteur");
  await accessible(page, "carnets par prescripteur");
  await page.goto(`${base}/releve`);
  await accessible(page, "relevé du financeur");
  const account = page.locator("form", { hasText: "Compte à débiter" });
  await account.getByLabel("IBAN").fill("FR76 3000 6000 0112 3456 7890 189");
  await account.getByLabel("Titulaire du compte").fill("Département de test");
  await account.getByRole("button", { name: "Enregistrer le compte" }).click();
  await notice(page, "C'est fait", "compte du financeur");
  console.log("financeur : tableau de bord, rapport d'impact, carnets par prescripteur");

  // ---- Prescriber ---------------------------------------------------------------------------
  await signIn(page, cfg.prescriber);
  await page.click("text=Carnets reçus");
  await accessible(page, "carnets reçus");
  await page.goto(`${base}/remise`);
  await page.fill("#voucher", cfg.firstCode);
  await page.fill("#commune", "Talence");
  await page.click("button[type=submit]");
  if (!(await page.textContent("[role=status]")).includes("remis")) fail("remise du carnet");
  console.log("prescripteur : carnet remis");

  // ---- Site: camera, then offline -----------------------------------------------------------
  await signIn(page, cfg.site);
  await page.click("text=Enregistrer un passage");
  await page.selectOption("#service", "DEM-ACCOMP");
  await page.click("text=Scanner avec la caméra");
  await page.waitForFunction(() => document.getElementById("codes").value.includes("/V/"), null, { timeout: 20000 });
  await page.waitForSelector("#scan-results li.ok");
  const verdict = await page.textContent("#scan-results");
  if (!verdict.includes("chèque authentique de 10,00 €")) fail(`vérification sur l'appareil : ${verdict}`);
  await accessible(page, "passage, caméra ouverte");
  await page.click("text=Arrêter la caméra");
  await page.click("button:has-text('Vérifier')");
  if (!(await page.textContent("li.ok")).includes("valable")) fail("le chèque scanné n'est pas valable");
  await page.click("text=Confirmer le passage");
  if (!(await page.textContent("h1")).includes("Passage enregistré")) fail("pas de reçu après le scan");
  await page.goto(`${base}/passages`);
  if (!(await page.textContent("tbody")).includes("Accueil")) fail("le passage manque à l'historique");
  await accessible(page, "historique des passages");
  await page.goto(`${base}/versements`);
  await accessible(page, "versements");
  console.log("lieu : chèque lu par la caméra, passage confirmé, visible dans l'historique");

  await page.goto(`${base}/passage`);
  await page.selectOption("#service", "DEM-ACCOMP");
  await context.setOffline(true);
  await page.fill("#codes", cfg.secondQr);
  await page.click("button:has-text('Vérifier')");
  await page.waitForFunction(() => document.getElementById("queue-count").textContent.includes("1 passage"));
  if (!(await page.textContent("#scan-results")).includes("chèque authentique")) fail("vérification hors ligne");
  await accessible(page, "passage hors ligne");
  await context.setOffline(false);
  await page.waitForSelector("#sync-results li", { timeout: 15000 });
  const synced = await page.textContent("#sync-results");
  if (!synced.includes("enregistré")) fail(`synchronisation : ${synced}`);
  if (!(await page.textContent("#queue-count")).includes("Aucun passage en attente")) fail("la file n'est pas vide");
  await accessible(page, "passages synchronisés");
  console.log("lieu : passage hors ligne mis en attente puis synchronisé");

  if (errors.length > 0) fail(`erreurs dans la console : ${errors.join(" | ")}`);
} finally {
  await browser.close();
}
