//! `/api/v1` routes, one module per resource.

pub mod anomalies;
pub mod audit;
pub mod books;
pub mod catalogue;
pub mod invoices;
pub mod ledger;
pub mod me;
pub mod orders;
pub mod organisations;
pub mod payments;
pub mod profiles;
pub mod settlements;
pub mod sites;
pub mod statistics;
pub mod system;
pub mod tokens;
pub mod vouchers;

use crate::http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::me))
        .routes(routes!(organisations::list, organisations::create))
        .routes(routes!(organisations::get))
        .routes(routes!(organisations::list_users, organisations::create_user))
        .routes(routes!(organisations::reset_password))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(ledger::trial_balance))
        .routes(routes!(ledger::verify))
        .routes(routes!(ledger::statement))
        .routes(routes!(audit::list))
        .routes(routes!(profiles::list_funders, profiles::create_funder))
        .routes(routes!(profiles::get_funder, profiles::update_funder))
        .routes(routes!(payments::list, payments::record))
        .routes(routes!(payments::position))
        .routes(routes!(payments::expiring))
        .routes(routes!(profiles::list_prescribers, profiles::create_prescriber))
        .routes(routes!(profiles::get_prescriber, profiles::update_prescriber))
        .routes(routes!(orders::list, orders::create))
        .routes(routes!(orders::get))
        .routes(routes!(orders::confirm))
        .routes(routes!(orders::cancel))
        .routes(routes!(orders::issue))
        .routes(routes!(orders::block))
        .routes(routes!(orders::books_pdf))
        .routes(routes!(books::list))
        .routes(routes!(books::get))
        .routes(routes!(books::assign))
        .routes(routes!(books::cancel))
        .routes(routes!(books::distribute))
        .routes(routes!(vouchers::check))
        .routes(routes!(catalogue::list, catalogue::upsert))
        .routes(routes!(catalogue::retire))
        .routes(routes!(sites::list, sites::create))
        .routes(routes!(sites::import))
        .routes(routes!(sites::get))
        .routes(routes!(sites::add_place))
        .routes(routes!(sites::set_services))
        .routes(routes!(sites::set_bank_account))
        .routes(routes!(sites::accreditation))
        .routes(routes!(sites::verify))
        .routes(routes!(sites::redeem, sites::passages))
        .routes(routes!(sites::redeem_batch))
        .routes(routes!(anomalies::list))
        .routes(routes!(anomalies::dismiss))
        .routes(routes!(invoices::list))
        .routes(routes!(invoices::pdf))
        .routes(routes!(settlements::list, settlements::prepare))
        .routes(routes!(settlements::get))
        .routes(routes!(settlements::release))
        .routes(routes!(settlements::cancel))
        .routes(routes!(settlements::sepa))
        .routes(routes!(settlements::report))
        .routes(routes!(settlements::statement))
        .routes(routes!(settlements::confirm))
        .routes(routes!(settlements::record_return))
        .routes(routes!(settlements::site_payouts))
        .routes(routes!(settlements::funder_sepa))
        .routes(routes!(settlements::set_funder_account))
        .routes(routes!(statistics::figures))
        .routes(routes!(statistics::table))
        .routes(routes!(statistics::table_csv))
        .routes(routes!(statistics::report))
        .routes(routes!(statistics::open_data))
}
