//! Reading typed arguments out of a call, with errors that name the argument.

use super::{ApiError, Call, Value};

impl Call<'_> {
    fn bad(&self, message: String) -> ApiError {
        ApiError::BadArguments {
            function: self.entry.name,
            message,
        }
    }

    /// Fails unless there are between `min` and `max` arguments.
    pub fn arity(&self, min: usize, max: usize) -> Result<(), ApiError> {
        let n = self.args.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            let plural = if max == 1 { "" } else { "s" };
            return Err(self.bad(format!(
                "takes {want} argument{plural} ({}), got {n}",
                self.entry.params
            )));
        }
        Ok(())
    }

    /// Argument `i` (0-based) as a string; `what` names it in the error.
    pub fn str_arg(&self, i: usize, what: &str) -> Result<&str, ApiError> {
        match self.args.get(i) {
            Some(Value::Str(s)) => Ok(s),
            Some(v) => Err(self.bad(format!(
                "argument {} ({what}) must be a string, got {}",
                i + 1,
                v.kind()
            ))),
            None => Err(self.bad(format!("argument {} ({what}) is missing", i + 1))),
        }
    }

    /// Argument `i` as a string, or `None` when absent, null or empty.
    pub fn opt_str_arg(&self, i: usize, what: &str) -> Result<Option<&str>, ApiError> {
        match self.args.get(i) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) if s.is_empty() => Ok(None),
            Some(_) => self.str_arg(i, what).map(Some),
        }
    }
}
