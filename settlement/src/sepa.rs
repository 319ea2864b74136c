//! SEPA credit transfer initiation files, ISO 20022 `pain.001.001.09`: one group header, one
//! payment information block, one transaction per payout. Texts are put in the SEPA character
//! set and cut to the lengths of the EPC guidelines (names 70, remittance 140).

use crate::charset::{is_sepa_id, sepa_text};
use chrono::{DateTime, NaiveDate, Utc};
use ledger::Cents;
use redeemer::bank::{Bic, Iban};

pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";

/// The largest amount of one SEPA credit transfer: 999 999 999,99 €.
pub const MAX_AMOUNT: Cents = Cents(99_999_999_999);

/// An account holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub iban: Iban,
    pub bic: Option<Bic>,
}

/// One transfer to a creditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Names the payout, end to end (SEPA identifier, at most 35 characters).
    pub end_to_end_id: String,
    pub amount: Cents,
    pub creditor: Party,
    /// Unstructured remittance text, cut to 140 characters.
    pub remittance: String,
}

/// A file of transfers from one debtor account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditTransfer {
    pub message_id: String,
    pub payment_info_id: String,
    pub created_at: DateTime<Utc>,
    pub execution_date: NaiveDate,
    /// Who sends the file (the operator, or the funder in direct mode).
    pub initiating_party: String,
    pub debtor: Party,
    pub transfers: Vec<Transfer>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SepaError {
    #[error("un virement SEPA compte au moins une opération")]
    Empty,
    #[error("identifiant SEPA invalide : « {0} » (1 à 35 caractères, lettres, chiffres, / - ? : ( ) . , ' +)")]
    BadId(String),
    #[error("montant de virement invalide pour « {id} » : {amount} centimes")]
    BadAmount { id: String, amount: i64 },
    #[error("identifiant de bout en bout en double : « {0} »")]
    DuplicateId(String),
}

fn amount(c: Cents) -> String {
    format!("{}.{:02}", c.0 / 100, c.0 % 100)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

fn agent(xml: &mut String, tag: &str, bic: &Option<Bic>, indent: &str) {
    match bic {
        Some(b) => {
            xml.push_str(&format!("{indent}<{tag}><FinInstnId><BICFI>{}</BICFI></FinInstnId></{tag}>\n", b.as_str()))
        }
        // Within SEPA the IBAN alone identifies the bank ("NOTPROVIDED" per the EPC guidelines).
        None => xml
            .push_str(&format!("{indent}<{tag}><FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId></{tag}>\n")),
    }
}

impl CreditTransfer {
    /// The sum of the transfers.
    pub fn total(&self) -> Cents {
        Cents(self.transfers.iter().map(|t| t.amount.0).sum())
    }

    /// Writes the file (UTF-8 XML). Refuses an empty file, bad identifiers and amounts that are
    /// not between 0,01 € and 999 999 999,99 €.
    pub fn to_xml(&self) -> Result<String, SepaError> {
        if self.transfers.is_empty() {
            return Err(SepaError::Empty);
        }
        for id in [&self.message_id, &self.payment_info_id] {
            if !is_sepa_id(id) {
                return Err(SepaError::BadId(id.clone()));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.transfers {
            if !is_sepa_id(&t.end_to_end_id) {
                return Err(SepaError::BadId(t.end_to_end_id.clone()));
            }
            if !seen.insert(t.end_to_end_id.as_str()) {
                return Err(SepaError::DuplicateId(t.end_to_end_id.clone()));
            }
            if t.amount.0 < 1 || t.amount > MAX_AMOUNT {
                return Err(SepaError::BadAmount { id: t.end_to_end_id.clone(), amount: t.amount.0 });
            }
        }
        let n = self.transfers.len();
        let total = amount(self.total());
        let mut x = String::with_capacity(1024 + 700 * n);
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str(&format!("<Document xmlns=\"{NAMESPACE}\">\n  <CstmrCdtTrfInitn>\n    <GrpHdr>\n"));
        x.push_str(&format!("      <MsgId>{}</MsgId>\n", escape(&self.message_id)));
        x.push_str(&format!("      <CreDtTm>{}</CreDtTm>\n", self.created_at.format("%Y-%m-%dT%H:%M:%SZ")));
        x.push_str(&format!("      <NbOfTxs>{n}</NbOfTxs>\n      <CtrlSum>{total}</CtrlSum>\n"));
        x.push_str(&format!(
            "      <InitgPty><Nm>{}</Nm></InitgPty>\n",
            escape(&sepa_text(&self.initiating_party, 70))
        ));
        x.push_str("    </GrpHdr>\n    <PmtInf>\n");
        x.push_str(&format!("      <PmtInfId>{}</PmtInfId>\n", escape(&self.payment_info_id)));
        x.push_str("      <PmtMtd>TRF</PmtMtd>\n      <BtchBookg>false</BtchBookg>\n");
        x.push_str(&format!("      <NbOfTxs>{n}</NbOfTxs>\n      <CtrlSum>{total}</CtrlSum>\n"));
        x.push_str("      <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>\n");
        x.push_str(&format!("      <ReqdExctnDt><Dt>{}</Dt></ReqdExctnDt>\n", self.execution_date.format("%Y-%m-%d")));
        x.push_str(&format!("      <Dbtr><Nm>{}</Nm></Dbtr>\n", escape(&sepa_text(&self.debtor.name, 70))));
        x.push_str(&format!("      <DbtrAcct><Id><IBAN>{}</IBAN></Id></DbtrAcct>\n", self.debtor.iban.as_str()));
        agent(&mut x, "DbtrAgt", &self.debtor.bic, "      ");
        x.push_str("      <ChrgBr>SLEV</ChrgBr>\n");
        for t in &self.transfers {
            x.push_str("      <CdtTrfTxInf>\n");
            x.push_str(&format!("        <PmtId><EndToEndId>{}</EndToEndId></PmtId>\n", escape(&t.end_to_end_id)));
            x.push_str(&format!("        <Amt><InstdAmt Ccy=\"EUR\">{}</InstdAmt></Amt>\n", amount(t.amount)));
            if t.creditor.bic.is_some() {
                agent(&mut x, "CdtrAgt", &t.creditor.bic, "        ");
            }
            x.push_str(&format!("        <Cdtr><Nm>{}</Nm></Cdtr>\n", escape(&sepa_text(&t.creditor.name, 70))));
            x.push_str(&format!("        <CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct>\n", t.creditor.iban.as_str()));
            x.push_str(&format!(
                "        <RmtInf><Ustrd>{}</Ustrd></RmtInf>\n",
                escape(&sepa_text(&t.remittance, 140))
            ));
            x.push_str("      </CdtTrfTxInf>\n");
        }
        x.push_str("    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>\n");
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(transfers: Vec<Transfer>) -> CreditTransfer {
        CreditTransfer {
            message_id: "PSL-R1".into(),
            payment_info_id: "PSL-R1-P".into(),
            created_at: "2026-12-01T08:00:00Z".parse().unwrap(),
            execution_date: "2026-12-02".parse().unwrap(),
            initiating_party: "Passerelle".into(),
            debtor: Party {
                name: "Passerelle".into(),
                iban: "FR7630006000011234567890189".parse().unwrap(),
                bic: Some("AGRIFRPP".parse().unwrap()),
            },
            transfers,
        }
    }

    fn transfer(id: &str, cents: i64) -> Transfer {
        Transfer {
            end_to_end_id: id.into(),
            amount: Cents(cents),
            creditor: Party {
                name: "Médiathèque d'Écouen".into(),
                iban: "FR7630006000011234567890189".parse().unwrap(),
                bic: None,
            },
            remittance: "Passerelle période novembre 2026".into(),
        }
    }

    #[test]
    fn amounts_totals_and_refusals() {
        let xml = file(vec![transfer("P1", 1950), transfer("P2", 5)]).to_xml().unwrap();
        assert!(xml.contains("<CtrlSum>19.55</CtrlSum>"));
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">0.05</InstdAmt>"));
        assert!(xml.contains("<Nm>Mediatheque d&apos;Ecouen</Nm>"));
        assert_eq!(file(vec![]).to_xml(), Err(SepaError::Empty));
        assert!(matches!(file(vec![transfer("P1", 0)]).to_xml(), Err(SepaError::BadAmount { .. })));
        assert!(matches!(file(vec![transfer("P 1", 10)]).to_xml(), Err(SepaError::BadId(_))));
        assert!(matches!(file(vec![transfer("P1", 10), transfer("P1", 20)]).to_xml(), Err(SepaError::DuplicateId(_))));
        assert!(matches!(file(vec![transfer("P1", MAX_AMOUNT.0 + 1)]).to_xml(), Err(SepaError::BadAmount { .. })));
    }
}
