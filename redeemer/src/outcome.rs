//! What a mediation achieved (DESIGN §3): optional, given by the mediator at redemption.

use serde::{Deserialize, Serialize};

/// How the help ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    ProcedureCompleted,
    SkillAcquired,
    Referred,
    NotCompleted,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::ProcedureCompleted => "procedure_completed",
            OutcomeKind::SkillAcquired => "skill_acquired",
            OutcomeKind::Referred => "referred",
            OutcomeKind::NotCompleted => "not_completed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OutcomeKind::ProcedureCompleted => "Démarche aboutie",
            OutcomeKind::SkillAcquired => "Compétence acquise",
            OutcomeKind::Referred => "Orienté ailleurs",
            OutcomeKind::NotCompleted => "Non abouti",
        }
    }
}

/// Autonomy on a 1–4 scale (1: cannot do it alone, 4: fully autonomous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Autonomy(u8);

impl Autonomy {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Autonomy {
    type Error = String;

    fn try_from(v: i64) -> Result<Self, Self::Error> {
        match u8::try_from(v) {
            Ok(n @ 1..=4) => Ok(Autonomy(n)),
            _ => Err(format!("l'autonomie se note de 1 à 4 (reçu : {v})")),
        }
    }
}

impl From<Autonomy> for i64 {
    fn from(a: Autonomy) -> i64 {
        i64::from(a.0)
    }
}

/// The outcome of one redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub result: OutcomeKind,
    pub autonomy_before: Option<Autonomy>,
    pub autonomy_after: Option<Autonomy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autonomy_is_one_to_four() {
        assert!(Autonomy::try_from(0).is_err());
        assert!(Autonomy::try_from(5).is_err());
        assert!(Autonomy::try_from(-1).is_err());
        assert_eq!(Autonomy::try_from(4).unwrap().get(), 4);
        let o: Result<Outcome, _> =
            serde_json::from_str(r#"{"result":"referred","autonomy_before":1,"autonomy_after":9}"#);
        assert!(o.unwrap_err().to_string().contains("de 1 à 4"));
        let o: Outcome =
            serde_json::from_str(r#"{"result":"skill_acquired","autonomy_before":1,"autonomy_after":3}"#).unwrap();
        assert_eq!(o.result.as_str(), "skill_acquired");
    }
}
