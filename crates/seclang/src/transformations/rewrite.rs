//! A copy-on-write output buffer for transformations whose output is
//! produced front to back.
//!
//! While every byte written so far equals the input at the same offset,
//! nothing is allocated: the buffer only counts. At the first byte that
//! differs it copies the equal prefix into a `Vec` and goes on from there.
//! [`Rewrite::finish`] returns `Cow::Borrowed` exactly when the output is
//! byte-identical to the input, which is the registry's contract.
//!
//! This module owns that bookkeeping only; it knows nothing of any
//! transformation's semantics.

use std::borrow::Cow;

/// Output of one transformation run over `input`.
pub(crate) struct Rewrite<'a> {
    input: &'a [u8],
    /// Output length while the output is still a prefix of `input`.
    same: usize,
    /// The output once it has diverged from `input`.
    owned: Option<Vec<u8>>,
}

impl<'a> Rewrite<'a> {
    /// Starts with `input[..start]` already written unchanged.
    #[inline]
    pub(crate) fn new(input: &'a [u8], start: usize) -> Self {
        Rewrite {
            input,
            same: start.min(input.len()),
            owned: None,
        }
    }

    #[cold]
    fn diverge(&mut self) -> &mut Vec<u8> {
        let mut v = Vec::with_capacity(self.input.len());
        v.extend_from_slice(&self.input[..self.same]);
        self.owned.insert(v)
    }

    /// Appends one byte.
    #[inline]
    pub(crate) fn push(&mut self, b: u8) {
        match &mut self.owned {
            Some(v) => v.push(b),
            None => {
                if self.input.get(self.same) == Some(&b) {
                    self.same += 1;
                } else {
                    self.diverge().push(b);
                }
            }
        }
    }

    /// Appends several bytes.
    #[inline]
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        match &mut self.owned {
            Some(v) => v.extend_from_slice(bytes),
            None => {
                let same = self.input[self.same..]
                    .iter()
                    .zip(bytes)
                    .take_while(|(a, b)| a == b)
                    .count();
                self.same += same;
                if same < bytes.len() {
                    self.diverge().extend_from_slice(&bytes[same..]);
                }
            }
        }
    }

    /// Removes the last byte written, if any.
    #[inline]
    pub(crate) fn pop(&mut self) {
        match &mut self.owned {
            Some(v) => {
                v.pop();
            }
            None => self.same = self.same.saturating_sub(1),
        }
    }

    /// The result: borrowed when identical to the input.
    pub(crate) fn finish(self) -> Cow<'a, [u8]> {
        match self.owned {
            None if self.same == self.input.len() => Cow::Borrowed(self.input),
            None => Cow::Owned(self.input[..self.same].to_vec()),
            Some(v) if v == self.input => Cow::Borrowed(self.input),
            Some(v) => Cow::Owned(v),
        }
    }
}

/// End of the run that starts at `from` (its first byte is taken whatever
/// it is) and stops before the next byte `stop` accepts. `from` must be a
/// valid index. Decoders copy such runs whole instead of byte by byte.
#[inline]
pub(crate) fn run_end(input: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    input[from + 1..]
        .iter()
        .position(|&b| stop(b))
        .map_or(input.len(), |k| from + 1 + k)
}

/// Wraps a freshly computed value: borrowed when it equals the input.
#[inline]
pub(crate) fn owned_if_changed(input: &[u8], output: Vec<u8>) -> Cow<'_, [u8]> {
    if output == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_output_stays_borrowed() {
        let input = b"abc";
        let mut w = Rewrite::new(input, 0);
        w.extend(b"abc");
        assert!(matches!(w.finish(), Cow::Borrowed(b) if b == input));
    }

    #[test]
    fn shorter_prefix_is_owned() {
        let input = b"abc";
        let mut w = Rewrite::new(input, 0);
        w.extend(b"ab");
        assert!(matches!(w.finish(), Cow::Owned(v) if v == b"ab"));
    }

    #[test]
    fn divergence_copies_prefix() {
        let input = b"abcdef";
        let mut w = Rewrite::new(input, 2);
        w.push(b'X');
        w.extend(b"yz");
        w.pop();
        assert_eq!(&*w.finish(), b"abXy");
    }

    #[test]
    fn extend_diverges_mid_slice() {
        let input = b"abcdef";
        let mut w = Rewrite::new(input, 1);
        w.extend(b"bcX");
        w.extend(b"yz");
        assert_eq!(&*w.finish(), b"abcXyz");
        let mut w = Rewrite::new(input, 0);
        w.extend(b"abc");
        w.extend(b"def");
        assert!(matches!(w.finish(), Cow::Borrowed(_)));
    }

    #[test]
    fn pop_before_divergence_shrinks_prefix() {
        let input = b"ab";
        let mut w = Rewrite::new(input, 2);
        w.pop();
        w.pop();
        w.pop();
        assert_eq!(&*w.finish(), b"");
    }
}
