//! Wall-clock time in the server's UTC: `TIME` (`HH:MM:SS`), `TIME_EPOCH`,
//! `TIME_YEAR`, `TIME_MON` (0–11, as ModSecurity), `TIME_DAY`, `TIME_HOUR`,
//! `TIME_MIN`, `TIME_SEC`, `TIME_WDAY` (0 = Sunday).
//!
//! `SecRule TIME_HOUR "@lt 6" "id:1,phase:1,pass,setvar:tx.night=1"`

use std::borrow::Cow;

use super::{push_single, Var, VarValue};

pub(super) fn collect(var: Var, out: &mut Vec<VarValue<'_>>) {
    let now = time::OffsetDateTime::now_utc();
    let text = match var {
        Var::Time => format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second()),
        Var::TimeEpoch => now.unix_timestamp().to_string(),
        Var::TimeYear => now.year().to_string(),
        Var::TimeMon => (u8::from(now.month()) - 1).to_string(),
        Var::TimeDay => now.day().to_string(),
        Var::TimeHour => now.hour().to_string(),
        Var::TimeMin => now.minute().to_string(),
        Var::TimeSec => now.second().to_string(),
        Var::TimeWday => now.weekday().number_days_from_sunday().to_string(),
        _ => return,
    };
    push_single(var, Cow::Owned(text.into_bytes()), out);
}
