//! `passerelle loadtest`: drives concurrent redemptions over HTTP against a running server, from
//! a plan written by `passerelle bench redeem-setup` (see bench/redeem.sh).

use crate::commands::CliError;
use crate::commands::bench::{Measured, RedeemPlan};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one client saw.
struct ClientRun {
    latencies_us: Vec<u64>,
    created: u64,
    failures: Vec<String>,
    exhausted: bool,
}

/// Each client redeems its own vouchers one request at a time, for `duration` or until its
/// vouchers run out; prints throughput and latency percentiles of the successful requests.
pub async fn run(url: &str, plan: &std::path::Path, clients: usize, duration: Duration) -> Result<(), CliError> {
    let bytes = std::fs::read(plan).map_err(|e| CliError::new(format!("{} : {e}", plan.display())))?;
    let plan: RedeemPlan = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::new(format!("plan illisible ({}) : {e}", plan.display())))?;
    if clients == 0 || clients > plan.clients.len() {
        return Err(CliError::new(format!("--clients doit être entre 1 et {} (lieux du plan)", plan.clients.len())));
    }
    let base = url.trim_end_matches('/').to_owned();
    if !base.starts_with("http://") && !base.starts_with("https://") {
        return Err(CliError::new("--url doit commencer par http:// ou https://"));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(CliError::new)?;
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for (i, c) in plan.clients.into_iter().take(clients).enumerate() {
        let (http, base, sent) = (http.clone(), base.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let url = format!("{base}/api/v1/sites/{}/redemptions", c.site);
            let mut run = ClientRun { latencies_us: Vec::new(), created: 0, failures: Vec::new(), exhausted: true };
            for (n, code) in c.vouchers.iter().enumerate() {
                if Instant::now() >= deadline {
                    run.exhausted = false;
                    break;
                }
                let body = serde_json::json!({
                    "place_id": c.place, "service_code": "DEM-ACCOMP", "vouchers": [code],
                    "idempotency_key": format!("loadtest-{i}-{n}-{code}"),
                });
                let t = Instant::now();
                let answer = http.post(&url).bearer_auth(&c.token).json(&body).send().await;
                sent.fetch_add(1, Ordering::Relaxed);
                match answer {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        run.latencies_us.push(t.elapsed().as_micros() as u64);
                        run.created += 1;
                    }
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        run.failures.push(format!("{status} {}", text.chars().take(200).collect::<String>()));
                    }
                    Err(e) => run.failures.push(e.to_string()),
                }
            }
            run
        }));
    }
    let mut latencies = Vec::new();
    let (mut created, mut failures, mut exhausted) = (0u64, Vec::new(), 0usize);
    for t in tasks {
        let run = t.await.map_err(CliError::new)?;
        latencies.extend(run.latencies_us);
        created += run.created;
        failures.extend(run.failures);
        exhausted += usize::from(run.exhausted);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let m = Measured { committed: created, elapsed, latencies_us: latencies };
    if exhausted > 0 {
        eprintln!("attention : {exhausted} client(s) ont épuisé leurs chèques avant la fin ; augmentez --books");
    }
    for f in failures.iter().take(5) {
        eprintln!("échec : {f}");
    }
    println!(
        "loadtest clients={clients} requests={} created={created} failed={} seconds={:.1} rate={:.1} p50_ms={:.2} p99_ms={:.2}",
        sent.load(Ordering::Relaxed),
        failures.len(),
        elapsed.as_secs_f64(),
        m.rate(),
        m.percentile_ms(0.50),
        m.percentile_ms(0.99)
    );
    if failures.is_empty() { Ok(()) } else { Err(CliError::new(format!("{} requête(s) en échec", failures.len()))) }
}
