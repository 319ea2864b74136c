//! Who acts: the signed-in user of an organisation, as every use case receives them.

use crate::app::AppError;
use crate::app::policy::{Access, Act};
use crate::identity::{OrgKind, Role};

/// The acting identity of a request, a page or a CLI command.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub organisation_id: i64,
    pub kind: OrgKind,
    pub role: Role,
    /// The API token used (0 for a web session).
    pub token_id: i64,
}

impl Caller {
    /// The operator's own authority, for the terminal (`passerelle …` on the server): recorded
    /// as the system in the audit trail, with no user.
    pub fn system() -> Caller {
        Caller { user_id: 0, organisation_id: 0, kind: OrgKind::Operator, role: Role::Manager, token_id: 0 }
    }

    /// The terminal acting for a site (scanning from the command line): the site's own
    /// authority, recorded as the system.
    pub fn system_for_site(site_id: i64) -> Caller {
        Caller { user_id: 0, organisation_id: site_id, kind: OrgKind::Site, role: Role::Manager, token_id: 0 }
    }

    /// Nobody signed in (the public voucher check, reached from a QR code): no user, no
    /// organisation, and only the public actions of the policy table.
    pub fn anonymous() -> Caller {
        Caller { user_id: 0, organisation_id: 0, kind: OrgKind::Prescriber, role: Role::Member, token_id: 0 }
    }

    /// Whether nobody is signed in ([`Caller::anonymous`]).
    pub fn is_anonymous(&self) -> bool {
        self.organisation_id == 0 && !self.is_operator()
    }

    /// The user acting, none for the system.
    pub fn user(&self) -> Option<i64> {
        (self.user_id != 0).then_some(self.user_id)
    }

    pub fn is_operator(&self) -> bool {
        self.kind == OrgKind::Operator
    }

    pub fn is_manager(&self) -> bool {
        self.role == Role::Manager
    }

    /// The caller as recorded in the audit trail.
    pub fn actor(&self) -> crate::audit::Actor {
        match self.user() {
            None => crate::audit::Actor::SYSTEM,
            Some(user) => crate::audit::Actor { user_id: Some(user), organisation_id: Some(self.organisation_id) },
        }
    }

    /// The operator sees every organisation; others only their own. Anything else is answered
    /// as if it did not exist.
    pub fn require_org(&self, organisation_id: i64) -> Result<(), AppError> {
        if self.is_operator() || self.organisation_id == organisation_id { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// Whether the policy table lets the caller do `act`.
    pub fn may(&self, act: Act) -> bool {
        self.allows(act.access())
    }

    /// The policy table's answer for `act`, as a refusal when it says no.
    pub fn require(&self, act: Act) -> Result<(), AppError> {
        if self.may(act) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    pub fn allows(&self, access: Access) -> bool {
        if self.is_anonymous() {
            return access == Access::Public;
        }
        match access {
            Access::Public | Access::AnyUser => true,
            Access::Operator => self.is_operator(),
            Access::OperatorManager => self.is_operator() && self.is_manager(),
            Access::OperatorOrManager => self.is_operator() || self.is_manager(),
            Access::Kinds(kinds) => self.is_operator() || kinds.contains(&self.kind),
            Access::SiteManagerOrOperatorManager => {
                self.is_manager() && matches!(self.kind, OrgKind::Operator | OrgKind::Site)
            }
            Access::SiteMembers => self.kind == OrgKind::Site,
        }
    }
}

/// The caller a signed-in user acts as on the pages, with their organisation's name.
pub async fn of_user(app: &crate::app::App, user: &crate::identity::users::User) -> Result<(Caller, String), AppError> {
    let org = issuer::organisations::get(&app.db, user.organisation_id).await?.ok_or(AppError::NotFound)?;
    let caller = Caller { user_id: user.id, organisation_id: org.id, kind: org.kind, role: user.role, token_id: 0 };
    Ok((caller, org.name))
}

#[cfg(test)]
mod tests {
    use super::Caller;
    use crate::app::Act;

    #[test]
    fn nobody_signed_in_may_only_do_public_acts() {
        let public = Caller::anonymous();
        assert!(public.is_anonymous() && public.user().is_none());
        assert!(public.may(Act::CheckVoucher) && public.may(Act::DownloadOpenData));
        for act in [Act::ReadMe, Act::ListTokens, Act::ReadCatalogue, Act::HandOverBook, Act::ListBooks] {
            assert!(!public.may(act), "{act:?}");
        }
        assert!(!Caller::system().is_anonymous() && Caller::system().may(Act::VerifyLedger));
    }
}
