//! `/api/v1` routes, one module per resource.

pub mod audit;
pub mod ledger;
pub mod me;
pub mod organisations;
pub mod system;
pub mod tokens;

use crate::http::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::me))
        .routes(routes!(organisations::list, organisations::create))
        .routes(routes!(organisations::get))
        .routes(routes!(organisations::list_users, organisations::create_user))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(ledger::trial_balance))
        .routes(routes!(ledger::verify))
        .routes(routes!(ledger::statement))
        .routes(routes!(audit::list))
}
