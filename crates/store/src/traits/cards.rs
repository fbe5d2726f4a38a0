//! ID card applications (intake, checked stage transitions, board, lists) and cards.

use async_trait::async_trait;
use dancu_domain::PersonalId;

use crate::model::*;
use crate::Result;

#[async_trait]
pub trait CardStore: Send + Sync {
    /// Takes in a card application at intake, copying the citizen's residence scope.
    /// `StoreError::NotFound` if the citizen does not exist.
    async fn create_card_application(
        &self,
        a: &NewCardApplication,
        change: &Change,
    ) -> Result<CardApplication>;

    async fn get_card_application(&self, id: i64) -> Result<Option<CardApplication>>;

    /// Moves an application to `to`, checked by `dancu_identity::transition`
    /// (`StoreError::Invalid` with its violation when refused; nothing changes) and by
    /// `expected_version` (`StoreError::VersionMismatch`). The move is kept in the history.
    /// A hand-over issues the card (dated the Vietnam day of `change.at`, expiry by the
    /// 25/40/60 rule) and revokes the person's previous valid cards.
    async fn transition_card_application(
        &self,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &Change,
    ) -> Result<CardApplication> {
        self.transition_card_application_in(id, to, reason, expected_version, change, &Scope::Nation).await
    }

    /// [`CardStore::transition_card_application`] for an application in `scope`: one outside it
    /// answers `StoreError::OutOfScope` with the holder's personal ID (for the audit log)
    /// and changes nothing. Checking scope here spares the registry a read per move.
    async fn transition_card_application_in(
        &self,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
        change: &Change,
        scope: &Scope,
    ) -> Result<CardApplication>;

    /// How many applications in the scope are at each stage (every stage listed).
    async fn card_board(&self, scope: &Scope) -> Result<Vec<StageCount>>;

    /// Applications in the scope, optionally at one stage, longest waiting first.
    async fn list_card_applications(
        &self,
        scope: &Scope,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>>;

    /// The stage changes of an application, oldest first.
    async fn card_application_history(&self, id: i64) -> Result<Vec<CardEvent>>;

    /// A person's cards, newest first.
    async fn get_cards(&self, personal_id: &PersonalId) -> Result<Vec<StoredCard>>;

    /// Records cards issued before the registry kept applications (legacy card data), one
    /// transaction for the batch: each gets a completed application (`reason` from
    /// `change`), replaces the holder's earlier valid cards, and takes the holder's current
    /// residence scope. A holder missing from the registry fails the whole batch with
    /// `NotFound`. Returns how many cards were recorded.
    async fn import_cards(&self, cards: &[ImportCard], change: &Change) -> Result<u64>;

    /// The due-for-renewal list in `scope` on day `on`, looking `within_days` ahead (capped
    /// at [`crate::MAX_DUE_WITHIN_DAYS`]): valid cards whose `renewal_due_from` (expiry minus
    /// [`crate::RENEWAL_NOTICE_DAYS`], as `dancu_identity::card::renewal_due_from`) is on or before
    /// `on + within_days`, and that have not expired on `on` (expiry ≥ `on`). With
    /// `within_days = 0` this is exactly the valid, unexpired cards for which
    /// `dancu_identity::card::due_for_renewal(birth, issue, on, RENEWAL_NOTICE_DAYS)` holds.
    /// Cards without expiry never appear. Scope is the holder's residence when the card was
    /// issued. Soonest first, then by personal ID.
    async fn cards_due_for_renewal(
        &self,
        scope: &Scope,
        on: chrono::NaiveDate,
        within_days: u32,
        limit: u32,
        offset: u64,
    ) -> Result<Page<DueCard>>;
}
