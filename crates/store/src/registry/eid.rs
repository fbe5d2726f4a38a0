//! The audited paths to electronic identity accounts: officers act on accounts in their
//! scope; citizens register, see their own record and who read it, and lock their account.
//! Officer reads are audited under the holder's personal ID, so they appear in the citizen's
//! "who accessed my data".

use chrono::NaiveDate;
use dancu_domain::{LifeStatus, PersonalId, Violation};
use dancu_identity::eid::{
    self as rules, AccountEvent, AccountState, DocumentKind, IntegratedDocument, Level, RegistrationClaim,
    VerificationState,
};
use dancu_identity::{Card, CardStatus};
use serde::Serialize;

use super::{now, Access, Outcome, Registry, RegistryError, Result};
use crate::eid::{
    self, CmndConfirmation, EidAccount, EidChange, EidClaim, EidCount, EidDocument, EidEvent, EidListItem,
    EidLogin,
};
use crate::model::*;
use crate::StoreError;

/// Everything an officer sees of an account.
#[derive(Debug, Clone, Serialize)]
pub struct EidView {
    pub account: EidAccount,
    pub full_name: String,
    /// What the citizen typed at a self-registration, for the approval screen.
    pub claim: Option<EidClaim>,
    /// The holder's registry record, shown next to the claim (the web page; the API has the
    /// citizen's own endpoint).
    #[serde(skip)]
    pub record: Option<StoredCitizen>,
    pub events: Vec<EidEvent>,
    pub documents: Vec<EidDocument>,
    pub logins: Vec<EidLogin>,
}

/// What a citizen sees on "my information".
#[derive(Debug, Clone, Serialize)]
pub struct OwnRecord {
    pub citizen: StoredCitizen,
    pub cards: Vec<StoredCard>,
    pub account: EidAccount,
    pub documents: Vec<EidDocument>,
    pub logins: Vec<EidLogin>,
    pub confirmations: Vec<CmndConfirmation>,
}

fn invalid(v: Violation) -> RegistryError {
    RegistryError::Store(StoreError::Invalid(vec![v]))
}

/// The actor string of a citizen acting on their own account.
pub fn citizen_actor(id: &PersonalId) -> String {
    format!("citizen:{id}")
}

/// The card a level-2 upgrade looks at: the holder's current (valid-status) card.
fn current_card(cards: &[StoredCard]) -> Option<Card> {
    cards.iter().filter(|c| c.status == CardStatus::Valid).max_by_key(|c| c.issue_date).map(|c| Card {
        number: c.number,
        issue_date: c.issue_date,
        expiry: c.expiry,
        issuing_authority: c.issuing_authority.clone(),
        lost_on: None,
        revoked_on: None,
    })
}

impl Registry {
    /// The account if it exists and its holder is in the caller's scope (audited).
    async fn scoped_account(&self, a: &Access, action: &str, id: &PersonalId) -> Result<EidAccount> {
        let found = eid::get_account(self.store.as_ref(), id).await?;
        let outcome = match &found {
            None => Outcome::NotFound,
            Some(acc) => Outcome::of_scope(a, &acc.scope_province, &acc.scope_commune),
        };
        self.log(a, action, id.as_str(), outcome).await?;
        found.filter(|_| outcome == Outcome::Ok).ok_or(RegistryError::NotFound)
    }

    /// An account with its history, documents and recent logins.
    pub async fn eid_view(&self, a: &Access, id: &PersonalId) -> Result<EidView> {
        let account = self.scoped_account(a, "eid.read", id).await?;
        let store = self.store.as_ref();
        // The read above is audited under the holder's personal ID, record included.
        let record = store.get_citizen(id).await?;
        let full_name = record.as_ref().map(|c| c.citizen.name.full()).unwrap_or_default();
        Ok(EidView {
            account,
            full_name,
            claim: eid::claim(store, id).await?,
            record,
            events: eid::events(store, id).await?,
            documents: eid::documents(store, id).await?,
            logins: eid::logins(store, id, 20).await?,
        })
    }

    /// Accounts in the caller's scope (the approval and upgrade queues).
    pub async fn eid_list(
        &self,
        a: &Access,
        state: Option<&str>,
        level: Option<Level>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<EidListItem>> {
        let page = eid::list_accounts(self.store.as_ref(), &a.scope, state, level, limit, offset).await?;
        let subject = format!(
            "{}&state={}&level={}",
            a.scope,
            state.unwrap_or("*"),
            level.map(Level::code).unwrap_or("*")
        );
        self.log_rows(a, "eid.list", &subject, page.items.iter().map(|i| i.personal_id.as_str())).await?;
        Ok(page)
    }

    /// Account counts per level, state and commune in the caller's scope.
    pub async fn eid_counts(&self, a: &Access) -> Result<Vec<EidCount>> {
        Ok(eid::counts(self.store.as_ref(), &a.scope).await?)
    }

    async fn save(
        &self,
        before: &EidAccount,
        next: &EidAccount,
        event: &str,
        reason: &str,
        actor: &str,
    ) -> Result<EidAccount> {
        let change = EidChange { event: event.into(), reason: reason.into(), actor: actor.into(), at: now() };
        Ok(eid::save_account(self.store.as_ref(), next, before.version, before.state.code(), Some(&change))
            .await?)
    }

    async fn apply_event(
        &self,
        before: &EidAccount,
        event: &AccountEvent,
        actor: &str,
        expected_version: Option<i64>,
    ) -> Result<EidAccount> {
        if let Some(v) = expected_version {
            crate::rows::check_version(v, before.version)?;
        }
        let state = rules::apply(&before.state, event).map_err(invalid)?;
        let (code, reason) = match event {
            AccountEvent::Approve => ("approve", String::new()),
            AccountEvent::Activate => ("activate", String::new()),
            AccountEvent::Lock { reason, .. } => ("lock", reason.clone()),
            AccountEvent::Unlock { reason, .. } => ("unlock", reason.clone()),
        };
        let next = EidAccount { state, updated_at: now(), ..before.clone() };
        let saved = self.save(before, &next, code, &reason, actor).await?;
        if saved.state.is_locked() {
            eid::delete_sessions_of(self.store.as_ref(), &saved.personal_id).await?;
        }
        Ok(saved)
    }

    /// Approves, locks or unlocks an account in the caller's scope.
    pub async fn eid_officer_event(
        &self,
        a: &Access,
        id: &PersonalId,
        event: &AccountEvent,
        expected_version: Option<i64>,
    ) -> Result<EidAccount> {
        self.writer(a, "eid.update", id.as_str()).await?;
        let before = self.scoped_account(a, "eid.update", id).await?;
        self.apply_event(&before, event, &a.actor, expected_version).await
    }

    /// Upgrades an account to level 2 in person: the holder must hold a card valid `on` and
    /// have had face and fingerprints verified by the officer.
    pub async fn eid_upgrade_level2(
        &self,
        a: &Access,
        id: &PersonalId,
        biometrics_verified: bool,
        on: NaiveDate,
        expected_version: Option<i64>,
    ) -> Result<EidAccount> {
        self.writer(a, "eid.upgrade", id.as_str()).await?;
        let before = self.scoped_account(a, "eid.upgrade", id).await?;
        if let Some(v) = expected_version {
            crate::rows::check_version(v, before.version)?;
        }
        if before.level == Level::Two {
            return Err(invalid(Violation::new(
                "level",
                "eid.already_level_2",
                "Tài khoản đã ở mức 2",
                "the account is already at level 2",
            )));
        }
        let record = self.store.get_citizen(id).await?.ok_or(RegistryError::NotFound)?;
        let cards = self.store.get_cards(id).await?;
        let card = current_card(&cards);
        rules::check_level2(card.as_ref(), on, &record.citizen, Some(&before.state), biometrics_verified)
            .map_err(invalid)?;
        let next = EidAccount { level: Level::Two, updated_at: now(), ..before.clone() };
        self.save(&before, &next, "upgrade_level_2", "xác thực trực tiếp", &a.actor).await
    }

    /// Records the hash of a one-time password-reset code the officer hands to the citizen
    /// after checking their identity in person.
    pub async fn eid_issue_reset(
        &self,
        a: &Access,
        id: &PersonalId,
        code_hash: String,
        expires_at: Timestamp,
    ) -> Result<EidAccount> {
        self.writer(a, "eid.reset_issue", id.as_str()).await?;
        let before = self.scoped_account(a, "eid.reset_issue", id).await?;
        let next = EidAccount {
            reset_code_hash: Some(code_hash),
            reset_expires_at: Some(expires_at),
            updated_at: now(),
            ..before.clone()
        };
        self.save(&before, &next, "reset_issued", "cán bộ xác minh trực tiếp", &a.actor).await
    }

    /// Links (or replaces) an integrated document on an account in the caller's scope.
    pub async fn eid_link_document(
        &self,
        a: &Access,
        id: &PersonalId,
        kind: DocumentKind,
        raw_number: &str,
        source_agency: Option<&str>,
    ) -> Result<EidDocument> {
        self.writer(a, "eid.document", id.as_str()).await?;
        self.scoped_account(a, "eid.document", id).await?;
        let doc = IntegratedDocument::link(id, kind, raw_number, source_agency).map_err(invalid)?;
        let at = now();
        let stored = EidDocument {
            kind,
            number: doc.number,
            source_agency: doc.source_agency,
            state: doc.state,
            linked_at: at,
            updated_at: at,
            updated_by: a.actor.clone(),
        };
        eid::put_document(self.store.as_ref(), id, &stored).await?;
        Ok(stored)
    }

    /// Records the source agency's answer on a linked document.
    pub async fn eid_document_state(
        &self,
        a: &Access,
        id: &PersonalId,
        kind: DocumentKind,
        to: VerificationState,
    ) -> Result<EidDocument> {
        self.writer(a, "eid.document", id.as_str()).await?;
        self.scoped_account(a, "eid.document", id).await?;
        let docs = eid::documents(self.store.as_ref(), id).await?;
        let mut d = docs.into_iter().find(|d| d.kind == kind).ok_or(RegistryError::NotFound)?;
        rules::verification_transition(&d.state, &to).map_err(invalid)?;
        d.state = to;
        d.updated_at = now();
        d.updated_by = a.actor.clone();
        eid::put_document(self.store.as_ref(), id, &d).await?;
        Ok(d)
    }

    /// Issues the confirmation that a card holder's old CMND number is theirs.
    pub async fn confirm_cmnd(&self, a: &Access, id: &PersonalId) -> Result<CmndConfirmation> {
        self.writer(a, "cmnd.confirm", id.as_str()).await?;
        let rec = self.read_citizen(a, id).await?;
        let Some(cmnd) = rec.citizen.cmnd.as_ref().map(|c| c.to_string()) else {
            return Err(invalid(Violation::new(
                "cmnd",
                "cmnd.none",
                "Hồ sơ không có số Chứng minh nhân dân cũ để xác nhận",
                "the record has no old CMND number to confirm",
            )));
        };
        let cards = self.store.get_cards(id).await?;
        let card_issue = current_card(&cards)
            .map(|c| format!("{} cấp ngày {}", c.number, c.issue_date.format("%d/%m/%Y")))
            .unwrap_or_default();
        let c = CmndConfirmation {
            number: String::new(),
            personal_id: *id,
            cmnd,
            full_name: rec.citizen.name.full(),
            birth_date: rec.citizen.birth_date.to_string(),
            card_issue,
            issued_at: now(),
            issued_by: a.actor.clone(),
            scope_province: rec.scope_province.clone(),
            scope_commune: rec.scope_commune.clone(),
        };
        let stored = eid::create_cmnd_confirmation(self.store.as_ref(), &c).await?;
        self.log(a, "cmnd.confirm", id.as_str(), Outcome::Ok).await?;
        Ok(stored)
    }

    /// A confirmation document, if its holder is in the caller's scope.
    pub async fn cmnd_confirmation(&self, a: &Access, number: &str) -> Result<CmndConfirmation> {
        let found = eid::get_cmnd_confirmation(self.store.as_ref(), number).await?;
        let Some(c) = found.filter(|c| a.scope.covers(&c.scope_province, &c.scope_commune)) else {
            return Err(RegistryError::NotFound);
        };
        self.log(a, "cmnd.read", c.personal_id.as_str(), Outcome::Ok).await?;
        Ok(c)
    }

    // ---- citizen self-service ----

    /// Level-1 self-registration. A personal ID with no record is refused exactly like a wrong
    /// name ([`rules::name_mismatch`]), so the answer never reveals whether it exists.
    pub async fn eid_register(
        &self,
        claim: &RegistrationClaim,
        password_hash: String,
        totp_secret: String,
    ) -> Result<EidAccount> {
        let audit = Access {
            actor: "public:registration".into(),
            role: Role::Officer,
            scope: Scope::Nation,
            purpose: "đăng ký tài khoản định danh điện tử mức 1".into(),
        };
        let id = &claim.personal_id;
        let checked = async {
            rules::check_claim(claim).map_err(invalid)?;
            let rec = self.store.get_citizen(id).await?.ok_or_else(|| invalid(rules::name_mismatch()))?;
            rules::check_registration(claim, &rec.citizen).map_err(invalid)?;
            debug_assert_eq!(rec.citizen.status, LifeStatus::Alive);
            Ok::<_, RegistryError>(rec)
        }
        .await;
        let rec = match checked {
            Ok(rec) => rec,
            Err(e) => {
                self.log(&audit, "eid.register", id.as_str(), Outcome::Refused).await?;
                return Err(e);
            }
        };
        let at = now();
        let account = EidAccount {
            personal_id: *id,
            level: Level::One,
            state: AccountState::Registered,
            phone: rules::normalize_phone(&claim.phone).map_err(invalid)?,
            password_hash,
            totp_secret,
            totp_last_step: None,
            reset_code_hash: None,
            reset_expires_at: None,
            scope_province: rec.scope_province.clone(),
            scope_commune: rec.scope_commune.clone(),
            created_at: at,
            updated_at: at,
            version: 1,
        };
        let change = EidChange {
            event: "register".into(),
            reason: "tự đăng ký mức 1".into(),
            actor: citizen_actor(id),
            at,
        };
        let typed = EidClaim {
            full_name: dancu_domain::nfc(&claim.full_name),
            birth_date: claim.birth_date.to_string(),
            sex: claim.sex.code().into(),
            phone: account.phone.clone(),
            portrait_captured: claim.portrait_captured,
            claimed_at: at,
        };
        let created = eid::create_registered(self.store.as_ref(), &account, &change, Some(&typed)).await;
        self.log(
            &audit,
            "eid.register",
            id.as_str(),
            if created.is_ok() { Outcome::Ok } else { Outcome::Refused },
        )
        .await?;
        created?;
        Ok(account)
    }

    /// The citizen's own record, card, account and documents; audited as their own read.
    /// The account a citizen is authenticating against (login, password reset), for the
    /// credential checks only: nothing of it is shown to the caller, and each attempt is
    /// recorded in the account's login history by the caller. `None` for an unknown ID.
    pub async fn eid_account_for_authentication(&self, id: &PersonalId) -> Result<Option<EidAccount>> {
        Ok(eid::get_account(self.store.as_ref(), id).await?)
    }

    pub async fn own_record(&self, id: &PersonalId) -> Result<OwnRecord> {
        let store = self.store.as_ref();
        let account = eid::get_account(store, id).await?.ok_or(RegistryError::NotFound)?;
        let citizen = store.get_citizen(id).await?.ok_or(RegistryError::NotFound)?;
        let own = own_access(id, "công dân tự tra cứu");
        self.log(&own, "citizen.read", id.as_str(), Outcome::Ok).await?;
        Ok(OwnRecord {
            citizen,
            cards: store.get_cards(id).await?,
            account,
            documents: eid::documents(store, id).await?,
            logins: eid::logins(store, id, 10).await?,
            confirmations: eid::cmnd_confirmations_of(store, id).await?,
        })
    }

    /// Every audited access to the citizen's record, newest first ("who accessed my data"):
    /// entries under their personal ID, and bulk accesses (matching and quality runs) over
    /// the nation, their province or their commune (where they live now).
    pub async fn own_access_log(&self, id: &PersonalId, limit: u32, offset: u64) -> Result<Page<AuditEntry>> {
        let c = self.store.get_citizen(id).await?;
        self.subject_log(&super::access_log_filter(id, c.as_ref(), limit, offset)).await
    }

    /// The citizen locks or unlocks their own account.
    pub async fn eid_citizen_event(&self, id: &PersonalId, event: &AccountEvent) -> Result<EidAccount> {
        let before = eid::get_account(self.store.as_ref(), id).await?.ok_or(RegistryError::NotFound)?;
        let saved = self.apply_event(&before, event, &citizen_actor(id), None).await?;
        let own = own_access(id, "công dân tự khóa / mở khóa tài khoản");
        self.log(&own, "eid.update", id.as_str(), Outcome::Ok).await?;
        Ok(saved)
    }

    /// Completes a password reset with the officer-issued code: new password and a new TOTP
    /// secret (the old phone may be lost), the code spent, every session ended.
    pub async fn eid_complete_reset(
        &self,
        id: &PersonalId,
        code_ok: impl FnOnce(&EidAccount) -> bool,
        password_hash: String,
        totp_secret: String,
    ) -> Result<EidAccount> {
        let store = self.store.as_ref();
        let before = eid::get_account(store, id).await?;
        let Some(before) = before.filter(|b| {
            b.reset_expires_at.is_some_and(|t| t > now()) && b.reset_code_hash.is_some() && code_ok(b)
        }) else {
            return Err(invalid(reset_refused()));
        };
        let next = EidAccount {
            password_hash,
            totp_secret,
            totp_last_step: None,
            reset_code_hash: None,
            reset_expires_at: None,
            updated_at: now(),
            ..before.clone()
        };
        let saved =
            self.save(&before, &next, "password_reset", "mã do cán bộ cấp", &citizen_actor(id)).await?;
        eid::delete_sessions_of(store, id).await?;
        Ok(saved)
    }
}

/// The same answer for an unknown ID, no code issued, an expired or a wrong code.
pub fn reset_refused() -> Violation {
    Violation::new(
        "code",
        "eid.reset_refused",
        "Mã đặt lại mật khẩu không đúng hoặc đã hết hạn",
        "the reset code is wrong or has expired",
    )
}

pub(super) fn own_access(id: &PersonalId, purpose: &str) -> Access {
    Access { actor: citizen_actor(id), role: Role::Officer, scope: Scope::Nation, purpose: purpose.into() }
}
