// The migrations are embedded by `sqlx::migrate!`: rebuild when a migration file is added.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
