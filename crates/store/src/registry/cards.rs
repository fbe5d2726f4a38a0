//! ID card applications and cards, scoped and audited under the holder's personal ID.

use std::collections::HashMap;

use dancu_domain::PersonalId;

use super::{change, Access, Outcome, Registry, RegistryError, Result};
use crate::model::*;
use crate::StoreError;

impl Registry {
    // ---- ID card applications ----

    /// The application if it exists and is in the caller's scope; the read is audited under
    /// the holder's personal ID (so it shows in "who accessed this record").
    async fn scoped_card_app(&self, a: &Access, action: &str, id: i64) -> Result<CardApplication> {
        let found = self.store.get_card_application(id).await?;
        let (subject, outcome) = match &found {
            None => (format!("card_application:{id}"), Outcome::NotFound),
            Some(c) => (c.personal_id.to_string(), Outcome::of_scope(a, &c.scope_province, &c.scope_commune)),
        };
        self.log(a, action, &subject, outcome).await?;
        found.filter(|_| outcome == Outcome::Ok).ok_or(RegistryError::NotFound)
    }

    /// Takes in a card application for a citizen the caller can see.
    pub async fn create_card_application(
        &self,
        a: &Access,
        n: &NewCardApplication,
    ) -> Result<CardApplication> {
        let holder = self.read_citizen(a, &n.personal_id).await?;
        let ch = change(a, &n.reason);
        let cards = self.store.get_cards(&n.personal_id).await?;
        crate::rows::check_new_application(n, &holder.citizen.birth_date, &cards, ch.at)?;
        let write = self.store.create_card_application(n, &ch);
        self.audited_write(a, "card.application.create", n.personal_id.as_str(), write).await
    }

    /// An application with its stage history.
    pub async fn card_application(&self, a: &Access, id: i64) -> Result<(CardApplication, Vec<CardEvent>)> {
        let app = self.scoped_card_app(a, "card.application.read", id).await?;
        let events = self.store.card_application_history(id).await?;
        Ok((app, events))
    }

    /// An application with its stage history and its holder's record (for the application
    /// page and the appointment slip); the read is the one audited under the holder.
    pub async fn card_application_with_holder(
        &self,
        a: &Access,
        id: i64,
    ) -> Result<(CardApplication, Vec<CardEvent>, Option<StoredCitizen>)> {
        let (app, events) = self.card_application(a, id).await?;
        let holder = self.store.get_citizen(&app.personal_id).await?;
        Ok((app, events, holder))
    }

    /// Moves an application in the caller's scope (the rules are the store's). The store
    /// checks the scope in the same transaction, so a move costs one audit entry and no
    /// separate read; the entry names the holder, or the application when it is missing.
    pub async fn transition_card_application(
        &self,
        a: &Access,
        id: i64,
        to: &dancu_identity::Stage,
        reason: Option<&str>,
        expected_version: i64,
    ) -> Result<CardApplication> {
        let change = change(a, reason.unwrap_or_default());
        let action = "card.application.transition";
        // Written ahead under the application; the result follows under the holder.
        self.log(a, action, &format!("card_application:{id}"), Outcome::Attempt).await?;
        let moved = self
            .store
            .transition_card_application_in(id, to, reason, expected_version, &change, &a.scope)
            .await;
        match moved {
            Ok(next) => {
                self.audit
                    .record_later(vec![Self::entry(a, action, next.personal_id.as_str(), Outcome::Ok)])
                    .await;
                Ok(next)
            }
            Err(StoreError::NotFound) => {
                self.log(a, action, &format!("card_application:{id}"), Outcome::NotFound).await?;
                Err(RegistryError::NotFound)
            }
            Err(StoreError::OutOfScope { subject }) => {
                self.log(a, action, &subject, Outcome::Denied).await?;
                Err(RegistryError::NotFound)
            }
            Err(e) => {
                self.log(a, action, &format!("card_application:{id}"), Outcome::Refused).await?;
                Err(e.into())
            }
        }
    }

    /// Counts per stage in the caller's scope.
    pub async fn card_board(&self, a: &Access) -> Result<Vec<StageCount>> {
        let board = self.store.card_board(&a.scope).await?;
        // Figures, not records: open to every role (a leader included).
        self.audit.record(Self::entry(a, "card.board", &a.scope.to_string(), Outcome::Ok)).await?;
        Ok(board)
    }

    /// Applications in the caller's scope, optionally at one stage.
    pub async fn list_card_applications(
        &self,
        a: &Access,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<CardApplication>> {
        let page = self.store.list_card_applications(&a.scope, stage, limit, offset).await?;
        let subject = format!("{}&stage={}", a.scope, stage.map(|s| s.code()).unwrap_or("*"));
        self.log_rows(
            a,
            "card.application.list",
            &subject,
            page.items.iter().map(|c| c.personal_id.as_str()),
        )
        .await?;
        Ok(page)
    }

    /// [`Self::list_card_applications`] with each holder's full name, looked up for the
    /// whole page at once under the listing's audit entry.
    pub async fn list_card_applications_named(
        &self,
        a: &Access,
        stage: Option<dancu_identity::StageKind>,
        limit: u32,
        offset: u64,
    ) -> Result<(Page<CardApplication>, HashMap<PersonalId, String>)> {
        let page = self.list_card_applications(a, stage, limit, offset).await?;
        let names =
            crate::holders::names(self.store.as_ref(), page.items.iter().map(|c| &c.personal_id)).await?;
        Ok((page, names))
    }

    /// The due-for-renewal list in the caller's scope on day `on` (see
    /// [`crate::Store::cards_due_for_renewal`]); audited as `card.due_list`.
    pub async fn cards_due_for_renewal(
        &self,
        a: &Access,
        on: chrono::NaiveDate,
        within_days: u32,
        limit: u32,
        offset: u64,
    ) -> Result<Page<DueCard>> {
        let page = self.store.cards_due_for_renewal(&a.scope, on, within_days, limit, offset).await?;
        let within = within_days.min(crate::MAX_DUE_WITHIN_DAYS);
        let subject = format!("{}&on={on}&within_days={within}", a.scope);
        self.log_rows(a, "card.due_list", &subject, page.items.iter().map(|c| c.personal_id.as_str()))
            .await?;
        Ok(page)
    }

    /// A citizen's cards (the citizen must be in the caller's scope).
    pub async fn cards(&self, a: &Access, id: &PersonalId) -> Result<Vec<StoredCard>> {
        self.read_citizen(a, id).await?;
        let cards = self.store.get_cards(id).await?;
        self.log(a, "card.read", id.as_str(), Outcome::Ok).await?;
        Ok(cards)
    }
}
