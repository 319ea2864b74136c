//! The command line: every subcommand and its arguments (clap). `commands::dispatch` runs them.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "passerelle", version, about = "Chambre de compensation des chèques de médiation numérique")]
pub struct Cli {
    /// Configuration file (default: ./passerelle.toml if it exists). Environment variables override it.
    #[arg(long, global = true, value_name = "FICHIER")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the database, run migrations, generate the signing key and the first operator admin.
    Init {
        /// Email address of the first operator administrator.
        #[arg(long, default_value = "admin@passerelle.local")]
        admin_email: String,
        /// Name of the operator organisation.
        #[arg(long, default_value = "Passerelle — chambre de compensation")]
        organisation: String,
    },
    /// Run pending database migrations.
    Migrate,
    /// Start the HTTP server.
    Serve,
    /// Start a fresh demo on its own SQLite file, with realistic data, and print the logins.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Demo database file (replaced at each start).
        #[arg(long, default_value = "passerelle-demo.db")]
        database: PathBuf,
        /// Seed the database and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Inspect and check the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Funders: create, list, record payments.
    #[command(subcommand)]
    Funder(FunderCommand),
    /// Prescribers: create, list.
    #[command(subcommand)]
    Prescriber(PrescriberCommand),
    /// Orders: create, confirm, issue, print.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Books: assign to a prescriber, cancel.
    #[command(subcommand)]
    Book(BookCommand),
    /// Signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Mediation sites: import from the national open data, accreditation, scanning.
    #[command(subcommand)]
    Site(SiteCommand),
    /// Anomaly flags for operator review.
    #[command(subcommand)]
    Anomaly(AnomalyCommand),
    /// Expire the vouchers of orders past their validity and grace period (the server does it
    /// hourly): their value is refunded to the funders by share, or kept, per each order.
    Expire {
        /// The day to expire as of (default: today).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Transactional email: deliver what waits in the outbox (the server does it every second),
    /// list the messages and their delivery state.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Copy the SQLite database consistently while the server runs (PostgreSQL: pg_dump).
    Backup {
        #[arg(long, value_name = "FICHIER.db")]
        out: PathBuf,
    },
    /// Write the whole state as documented open files (JSON Lines, a manifest with row counts,
    /// SHA-256 checksums and the public keys), for another deployment to take over.
    Export {
        #[arg(long, value_name = "RÉPERTOIRE")]
        out: PathBuf,
    },
    /// Load an export into an empty deployment (after `passerelle migrate`, without `init`):
    /// every file is checked before anything is written.
    Import {
        #[arg(value_name = "RÉPERTOIRE")]
        dir: PathBuf,
    },
    /// Funder invoices and credit notes: writes those the ledger calls for, lists them, or
    /// writes one as a PDF.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Prepare the settlement run of a period that is over (a draft to inspect, then release).
    Settle {
        /// Last day of the period, e.g. 2026-10-31.
        #[arg(long)]
        period_end: chrono::NaiveDate,
        /// Smallest payout in euros (default: the configured minimum).
        #[arg(long)]
        minimum: Option<ledger::Cents>,
    },
    /// Settlement runs and payouts: list, show, release, cancel, SEPA file, bank confirmations.
    #[command(subcommand)]
    Settlement(SettlementCommand),
    /// Drive concurrent HTTP redemptions against a running server (plan from
    /// `bench redeem-setup`); prints redemptions/s and latency percentiles.
    #[cfg(feature = "bench")]
    Loadtest {
        /// Base URL of the server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        #[arg(long, value_name = "PLAN.json")]
        plan: PathBuf,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Load generators for the benchmarks in bench/.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Import places from a CSV file in the national open-data standard: valid rows become
    /// pending sites, invalid rows are listed with their line; nothing is half-imported.
    Import {
        #[arg(value_name = "FICHIER.csv")]
        file: PathBuf,
    },
    /// Accredit a site until a date.
    Accredit {
        id: i64,
        #[arg(long)]
        until: chrono::NaiveDate,
        #[arg(long, default_value = "Accréditation")]
        comment: String,
    },
    /// Set the account a site's payouts go to (ends a review after a returned transfer).
    BankAccount {
        id: i64,
        #[arg(long)]
        iban: redeemer::bank::Iban,
        #[arg(long)]
        bic: Option<redeemer::bank::Bic>,
        #[arg(long)]
        holder: String,
    },
    /// Say for each scanned or typed voucher whether the site can redeem it now, changing nothing.
    Verify {
        /// The site (organisation number).
        site: i64,
        #[arg(long)]
        place: i64,
        /// Service code from the catalogue.
        #[arg(long)]
        service: String,
        /// When the service is delivered (RFC 3339; default: now).
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(required = true, value_name = "CODE_OU_URL")]
        vouchers: Vec<String>,
    },
    /// Redeem vouchers for a delivered service (exactly once per idempotency key).
    Redeem {
        site: i64,
        #[arg(long)]
        place: i64,
        #[arg(long)]
        service: String,
        /// Idempotency key: running the same command again records nothing more.
        #[arg(long)]
        key: String,
        /// When the service was delivered (RFC 3339; default: now).
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long, value_enum)]
        outcome: Option<OutcomeArg>,
        /// Autonomy before the help, 1 to 4.
        #[arg(long, requires = "outcome")]
        autonomy_before: Option<i64>,
        /// Autonomy after the help, 1 to 4.
        #[arg(long, requires = "outcome")]
        autonomy_after: Option<i64>,
        #[arg(required = true, value_name = "CODE_OU_URL")]
        vouchers: Vec<String>,
    },
}

/// How the help ended.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutcomeArg {
    ProcedureCompleted,
    SkillAcquired,
    Referred,
    NotCompleted,
}

impl From<OutcomeArg> for redeemer::outcome::OutcomeKind {
    fn from(o: OutcomeArg) -> Self {
        use redeemer::outcome::OutcomeKind as K;
        match o {
            OutcomeArg::ProcedureCompleted => K::ProcedureCompleted,
            OutcomeArg::SkillAcquired => K::SkillAcquired,
            OutcomeArg::Referred => K::Referred,
            OutcomeArg::NotCompleted => K::NotCompleted,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Write the pending documents, then list them (all, or one funder's).
    List {
        #[arg(long)]
        funder: Option<i64>,
    },
    /// Write one document as a PDF.
    Pdf {
        id: i64,
        #[arg(long, value_name = "FICHIER.pdf")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettlementCommand {
    /// The runs, newest period first.
    List,
    /// A run and its payouts.
    Show { id: i64 },
    /// Release a draft run: payouts are posted and the SEPA file becomes available.
    Release { id: i64 },
    /// Cancel a draft run.
    Cancel { id: i64 },
    /// Write the SEPA credit transfer file (pain.001.001.09) of a released run.
    Sepa {
        id: i64,
        #[arg(long, value_name = "FICHIER.xml")]
        out: PathBuf,
    },
    /// Write a site's statement for a run (PDF).
    Statement {
        id: i64,
        #[arg(long)]
        site: i64,
        #[arg(long, value_name = "FICHIER.pdf")]
        out: PathBuf,
    },
    /// Write the operator's report of a run (PDF).
    Report {
        id: i64,
        #[arg(long, value_name = "FICHIER.pdf")]
        out: PathBuf,
    },
    /// Record the bank's confirmation of a payout.
    Confirm {
        payout: i64,
        #[arg(long)]
        on: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Record a returned transfer (the amount goes back to the site; its bank details are held
    /// for review).
    Return {
        payout: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        on: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AnomalyCommand {
    /// Anomaly flags with their evidence, newest first.
    List {
        /// Include dismissed flags.
        #[arg(long)]
        all: bool,
    },
    /// Dismiss a flag with a comment.
    Dismiss {
        id: i64,
        #[arg(long)]
        comment: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new signing key: new vouchers are signed with it, older keys keep verifying
    /// the vouchers they signed. Restart the server to publish it.
    Rotate,
    /// List the public keys.
    List,
}

/// What describes a funder or a prescriber.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    #[arg(long)]
    pub name: String,
    /// 14 digits (spaces allowed).
    #[arg(long)]
    pub siret: String,
    /// Funders: etat, region, departement, intercommunalite, commune, caf, entreprise, association,
    /// autre. Prescribers: ccas, mairie, france_travail, caf, france_services, departement,
    /// association, autre.
    #[arg(long)]
    pub category: String,
    /// Département codes, comma-separated (e.g. 33,40).
    #[arg(long, value_delimiter = ',')]
    pub territory: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum FunderCommand {
    /// Create a funder organisation.
    Create(ProfileArgs),
    /// List funders with their net position.
    List,
    /// Record money received from a funder.
    Pay {
        /// Funder id.
        id: i64,
        /// Amount in euros, e.g. 12500,00.
        #[arg(long)]
        amount: String,
        /// The bank's reference of the transfer.
        #[arg(long)]
        reference: String,
        /// Day the money arrived (YYYY-MM-DD; default today).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Deliver the messages that are due, once, and say how many were sent or failed.
    Send,
    /// The most recent messages and their delivery state.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrescriberCommand {
    /// Create a prescriber organisation.
    Create(ProfileArgs),
    /// List prescribers.
    List,
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Create a draft order from a JSON file (same fields as POST /api/v1/orders).
    Create {
        #[arg(long, value_name = "FICHIER.json")]
        file: PathBuf,
    },
    /// List orders.
    List,
    /// Confirm a draft order.
    Confirm { id: i64 },
    /// Issue a confirmed order: generate and sign its vouchers (resumes an interrupted run).
    Issue { id: i64 },
    /// Write print-ready PDF files of an order's books (at most 100 books per file).
    Print {
        id: i64,
        /// Output directory.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// First book number.
        #[arg(long)]
        from: Option<u32>,
        /// Last book number.
        #[arg(long)]
        to: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BookCommand {
    /// Assign a range of an order's books to a prescriber.
    Assign {
        #[arg(long)]
        order: i64,
        #[arg(long)]
        from: u32,
        #[arg(long)]
        to: u32,
        /// Prescriber organisation id.
        #[arg(long)]
        prescriber: i64,
    },
    /// Cancel a lost or stolen book.
    Cancel {
        serial: String,
        #[arg(long)]
        reason: String,
    },
}

/// The benchmarks' load generators: built only with the `bench` feature.
#[cfg(feature = "bench")]
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Issue an order of BOOKS books of 10 vouchers, then time printing all of them as PDF files
    /// of at most 100 books.
    Print {
        #[arg(long, default_value_t = 10_000)]
        books: u32,
        /// Where the PDF files go (default: a temporary directory, removed afterwards).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Issue one order of BOOKS × PER_BOOK signed vouchers on DATABASE_URL (or, with
    /// --reference, bulk-insert the same rows unsigned as the reference).
    Issue {
        #[arg(long, default_value_t = 100_000)]
        books: u32,
        #[arg(long, default_value_t = 10)]
        per_book: u32,
        #[arg(long)]
        reference: bool,
    },
    /// Statistics at national scale (bench/stats.sh): write the aggregates of 10 million vouchers
    /// and 5 million redemptions (or a tenth with --scale regional) into an initialised, empty
    /// database, then time every dashboard request as the pages make it (long tables limited to
    /// 50 rows) and print the percentiles; the CSV exports of the long tables are timed apart.
    Stats {
        /// `national` or `regional`.
        #[arg(long, default_value = "national")]
        scale: String,
        /// The last month of the generated data (AAAA-MM).
        #[arg(long, default_value = "2026-10")]
        last_month: String,
        /// Times each request is measured.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// Only measure (the data is already there).
        #[arg(long)]
        measure_only: bool,
    },
    /// Prepare a redemption load test (bench/redeem.sh): issue vouchers, accredit sites open
    /// 24/7 with a member and an API token each, and write the plan for `passerelle loadtest`.
    RedeemSetup {
        #[arg(long, default_value_t = 32)]
        sites: usize,
        /// Books of 10 vouchers to issue.
        #[arg(long, default_value_t = 5000)]
        books: u32,
        #[arg(long, value_name = "PLAN.json")]
        out: PathBuf,
    },
    /// Post three-posting redemption transactions from concurrent clients on DATABASE_URL.
    Ledger {
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Duration of the run in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Number of distinct orders drawn on.
        #[arg(long, default_value_t = 200)]
        orders: i64,
        /// Number of distinct sites paid.
        #[arg(long, default_value_t = 1000)]
        sites: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute seals, balances and invariants; exit status 1 if anything does not match.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print every account's balance and the total (always zero).
    TrialBalance {
        /// Balances at this past instant (RFC 3339, e.g. 2026-01-31T23:59:59Z).
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
    },
    /// Print an account statement with running balance.
    Statement {
        /// Account code: bank, fees, breakage, payouts:in_transit, funder:ID, order:ID:outstanding, site:ID:payable.
        account: String,
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        #[arg(long)]
        to: Option<DateTime<Utc>>,
    },
    /// Seal every committed transaction not yet sealed (the server does it continuously).
    Seal,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it once.
    Create {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the token expires (none: no expiry).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}
