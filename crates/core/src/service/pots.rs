//! Moving money from the settings window: a move is planned (checked, given its
//! `dedupe_id`) and shown as a question; only the person's confirmation of that very
//! plan carries it out, once: confirming twice finds nothing left to carry out.
//! A move whose outcome is unknown is kept, so "Try again" sends the same move with
//! the same `dedupe_id` (Monzo carries it out at most once), never a new one.

use serde::Serialize;

use super::AppService;
use crate::error::{Error, Result};
use crate::pots::{self, Direction, PlannedMove};
use crate::sync::lock;

/// A planned move, as the window shows it for confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedMoveView {
    /// What confirms (or cancels) it.
    pub id: String,
    /// "Move £50.00 from Dana's Current Account into Holiday?"
    pub question: String,
    /// The question again after a move whose outcome is unknown, saying that
    /// trying again cannot move the money twice.
    pub(crate) retry_question: String,
}

/// A move made.
#[derive(Debug, Clone, Serialize)]
pub struct MoveDoneView {
    /// "Moved £50.00 into Holiday; it now holds £1,550.00."
    pub sentence: String,
}

impl AppService {
    /// Checks a move and keeps it for the person to confirm. Nothing is sent.
    pub fn plan_pot_move(
        &self,
        person_id: &str,
        pot: &str,
        direction: Direction,
        amount: &str,
    ) -> Result<PlannedMoveView> {
        let person = self.person(person_id)?;
        let planned = pots::plan(
            &self.engine.snapshot(),
            &person,
            pot,
            amount,
            direction,
            pots::Attempt::New,
        )?;
        let view = PlannedMoveView {
            id: planned.dedupe_id.to_string(),
            question: planned.question(),
            retry_question: planned.retry_question(),
        };
        lock(&self.planned_moves).insert(planned.dedupe_id.to_string(), planned);
        Ok(view)
    }

    /// Carries out the planned move `id` (once: it is taken from the plans first),
    /// then polls at once so the tray shows the new balances. When its outcome is
    /// unknown ([`Error::MoveOutcomeUnknown`]) the plan is put back under the same
    /// id, for the person to try again or cancel.
    pub async fn confirm_pot_move(&self, id: &str) -> Result<MoveDoneView> {
        let planned: PlannedMove = lock(&self.planned_moves)
            .remove(id)
            .ok_or_else(|| Error::InvalidInput("That move was already carried out or cancelled.".into()))?;
        let done = pots::carry_out(self.engine.sessions(), &self.engine.config().retry, &planned).await;
        self.engine.refresh_now();
        match done {
            Ok(done) => Ok(MoveDoneView {
                sentence: done.sentence,
            }),
            Err(err) => {
                if matches!(err, Error::MoveOutcomeUnknown { .. }) {
                    lock(&self.planned_moves).insert(planned.dedupe_id.to_string(), planned);
                }
                Err(err)
            }
        }
    }

    /// Forgets a planned move the person did not confirm.
    pub fn cancel_pot_move(&self, id: &str) {
        lock(&self.planned_moves).remove(id);
    }
}
