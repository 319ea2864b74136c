// The scan page's script (the page works without it: codes can always be typed).
// - Camera: the browser's BarcodeDetector where it exists; otherwise frames go to the server,
//   which reads the QR code (POST /passage/decoder).
// - Each scanned voucher is checked at once on the device with the operator's published public
//   key (Ed25519 signature, value, end of validity): green or red, in French.
// - Offline: the passage is queued on the device (localStorage) and sent when the connection
//   returns (POST /passage/synchroniser); the result of each passage is shown afterwards.
"use strict";

(() => {
  const form = document.getElementById("scan-form");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrf]").value;
  const codes = document.getElementById("codes");
  const status = document.getElementById("scan-status");
  const results = document.getElementById("scan-results");
  const QUEUE = "passerelle-passages-en-attente";
  const KEYS = "passerelle-cles-publiques";
  const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

  function say(text) {
    status.textContent = text;
  }

  function line(ok, text) {
    const li = document.createElement("li");
    li.className = ok ? "ok" : "ko";
    li.textContent = text;
    return li;
  }

  // ---- Offline verification of a voucher token --------------------------------------------
  function base32(text) {
    const out = new Uint8Array(85);
    let acc = 0, bits = 0, i = 0;
    for (const ch of text.toUpperCase()) {
      const v = ALPHABET.indexOf(ch);
      if (v < 0) return null;
      acc = ((acc << 5) | v) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out[i++] = (acc >> bits) & 0xff;
      }
    }
    return i === 85 ? out : null;
  }

  function tokenOf(scanned) {
    const m = /\/V\/([0-9A-Za-z]{136})\s*$/.exec(scanned.trim());
    return m ? m[1] : null;
  }

  async function publicKeys() {
    if (navigator.onLine) {
      try {
        const r = await fetch("/.well-known/passerelle-keys.json");
        if (r.ok) localStorage.setItem(KEYS, JSON.stringify((await r.json()).keys));
      } catch (_) { /* offline: the stored keys serve */ }
    }
    return JSON.parse(localStorage.getItem(KEYS) || "[]");
  }

  function b64url(s) {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function euros(cents) {
    return (cents / 100).toFixed(2).replace(".", ",") + " €";
  }

  // What the device can tell of a scanned voucher without the server.
  async function checkOffline(scanned) {
    const token = tokenOf(scanned);
    if (!token) return { ok: true, text: "code saisi : vérifié par le serveur à l'envoi" };
    const bytes = base32(token);
    if (!bytes || bytes[0] !== 1) return { ok: false, text: "QR code illisible : ce n'est pas un chèque Passerelle" };
    const payload = bytes.slice(0, 21), signature = bytes.slice(21);
    const kid = "k" + ((bytes[1] << 8) | bytes[2]);
    const key = (await publicKeys()).find((k) => k.kid === kid);
    if (!key) return { ok: false, text: "clé de signature inconnue : chèque non reconnu" };
    let authentic = false;
    try {
      const k = await crypto.subtle.importKey("raw", b64url(key.public_key), { name: "Ed25519" }, false, ["verify"]);
      const domain = new TextEncoder().encode("passerelle-voucher-v1");
      const message = new Uint8Array(domain.length + 21);
      message.set(domain);
      message.set(payload, domain.length);
      authentic = await crypto.subtle.verify({ name: "Ed25519" }, k, signature, message);
    } catch (_) {
      return { ok: true, text: "ce téléphone ne sait pas vérifier la signature : le serveur le fera à l'envoi" };
    }
    if (!authentic) return { ok: false, text: "signature invalide : ce chèque n'a pas été émis par l'opérateur" };
    const view = new DataView(payload.buffer);
    const value = view.getUint32(11);
    const end = new Date(Date.UTC(2020, 0, 1) + view.getUint16(15) * 86400000);
    const endText = end.toLocaleDateString("fr-FR", { timeZone: "UTC" });
    if (end.getTime() + 86400000 < Date.now()) {
      return { ok: false, text: `chèque de ${euros(value)}, validité terminée le ${endText}` };
    }
    return { ok: true, text: `chèque authentique de ${euros(value)}, valable jusqu'au ${endText}` };
  }

  async function added(scanned) {
    const present = codes.value.split("\n").map((l) => l.trim()).filter((l) => l);
    if (present.includes(scanned.trim())) return;
    present.push(scanned.trim());
    codes.value = present.join("\n");
    const verdict = await checkOffline(scanned);
    results.appendChild(line(verdict.ok, `Chèque n°${present.length} : ${verdict.text}`));
    say(`Chèque lu (${present.length}) : ${verdict.text}.`);
  }

  // ---- Camera ------------------------------------------------------------------------------
  const start = document.getElementById("camera-start");
  const stop = document.getElementById("camera-stop");
  const video = document.getElementById("camera-video");
  let stream = null, timer = null, busy = false;

  async function readFrame() {
    if (busy || !stream) return;
    busy = true;
    try {
      if ("BarcodeDetector" in window) {
        const found = await new window.BarcodeDetector({ formats: ["qr_code"] }).detect(video);
        if (found.length > 0) await added(found[0].rawValue);
      } else if (navigator.onLine && video.videoWidth > 0) {
        const canvas = document.createElement("canvas");
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        canvas.getContext("2d").drawImage(video, 0, 0);
        const blob = await new Promise((ok) => canvas.toBlob(ok, "image/png"));
        const r = await fetch("/passage/decoder", { method: "POST", body: blob, headers: { "X-CSRF-Token": csrf } });
        if (r.ok) await added((await r.json()).text);
      }
    } catch (_) { /* the next frame will tell */ }
    busy = false;
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    clearInterval(timer);
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    document.getElementById("camera").hidden = false;
    start.addEventListener("click", async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (_) {
        say("La caméra n'est pas accessible : saisissez les codes.");
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      start.hidden = true;
      stop.hidden = false;
      say("Caméra ouverte : présentez le QR code de chaque chèque.");
      timer = setInterval(readFrame, 400);
    });
    stop.addEventListener("click", () => {
      stopCamera();
      say("Caméra arrêtée.");
    });
  }

  // ---- Offline queue -----------------------------------------------------------------------
  const queueBox = document.getElementById("queue");
  const queueCount = document.getElementById("queue-count");
  const synced = document.getElementById("sync-results");

  function queue() {
    return JSON.parse(localStorage.getItem(QUEUE) || "[]");
  }

  function showQueue() {
    const n = queue().length;
    queueBox.hidden = n === 0 && synced.children.length === 0;
    queueCount.textContent = n === 0 ? "Aucun passage en attente." : `${n} passage(s) en attente d'envoi.`;
  }

  async function sync() {
    const items = queue();
    if (items.length === 0 || !navigator.onLine) return;
    say("Connexion retrouvée : envoi des passages en attente…");
    let answer;
    try {
      const r = await fetch("/passage/synchroniser", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ items }),
      });
      answer = await r.json();
      if (!r.ok) {
        say(`Envoi refusé : ${answer.detail || r.status}. Les passages restent en attente.`);
        return;
      }
    } catch (_) {
      say("Envoi impossible pour l'instant : les passages restent en attente.");
      return;
    }
    const done = new Set();
    for (const item of answer) {
      done.add(item.idempotency_key);
      const when = items.find((i) => i.idempotency_key === item.idempotency_key);
      const at = when ? new Date(when.performed_at).toLocaleString("fr-FR") : "";
      synced.appendChild(item.redeemed
        ? line(true, `Passage du ${at} enregistré (n°${item.redeemed.redemption_id}, ${euros(item.redeemed.value_cents)})`)
        : line(false, `Passage du ${at} refusé : ${item.refusal.message}`));
    }
    localStorage.setItem(QUEUE, JSON.stringify(items.filter((i) => !done.has(i.idempotency_key))));
    say("Passages en attente envoyés : voir le résultat de chacun.");
    showQueue();
  }

  form.addEventListener("submit", async (event) => {
    if (navigator.onLine) return; // online: the server checks, as without script
    event.preventDefault();
    const vouchers = codes.value.split("\n").map((l) => l.trim()).filter((l) => l);
    if (vouchers.length === 0) return;
    results.replaceChildren();
    let allOk = true;
    for (const [i, v] of vouchers.entries()) {
      const verdict = await checkOffline(v);
      allOk = allOk && verdict.ok;
      results.appendChild(line(verdict.ok, `Chèque n°${i + 1} : ${verdict.text}`));
    }
    if (!allOk) {
      say("Hors connexion : un chèque au moins est refusé ; retirez-le avant de mettre le passage en attente.");
      return;
    }
    const items = queue();
    items.push({
      idempotency_key: crypto.randomUUID(),
      place_id: Number(form.querySelector("[name=place]").value),
      service_code: form.querySelector("[name=service]").value,
      vouchers,
      performed_at: new Date().toISOString(),
    });
    localStorage.setItem(QUEUE, JSON.stringify(items));
    codes.value = "";
    say("Hors connexion : passage vérifié sur l'appareil et mis en attente ; il sera envoyé au retour de la connexion.");
    showQueue();
  });

  window.addEventListener("online", sync);
  window.addEventListener("offline", () => say("Hors connexion : les passages seront mis en attente sur l'appareil."));
  publicKeys();
  showQueue();
  sync();
})();
