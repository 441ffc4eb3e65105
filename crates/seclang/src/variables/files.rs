//! What the multipart processor found: `FILES` (field name → file name),
//! `FILES_NAMES`, `FILES_SIZES`, `FILES_TMP_CONTENT`, `FILES_TMPNAMES`,
//! `FILES_COMBINED_SIZE`, `MULTIPART_NAME` / `MULTIPART_FILENAME`,
//! `MULTIPART_PART_HEADERS` (field name → each header line of the part),
//! and the `MULTIPART_*` error flags, which exist only once a multipart
//! body was processed.
//!
//! `SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:1,phase:2,deny"`

use std::borrow::Cow;

use super::{push_single, Selector, Var, VarValue};
use crate::transaction::TxView;

fn flag(b: bool) -> Cow<'static, [u8]> {
    Cow::Borrowed(if b { b"1" } else { b"0" })
}

pub(super) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    let req = view.req;
    let Some(mp) = &req.multipart else {
        return;
    };
    let keyed = |key: &'a [u8], value: Cow<'a, [u8]>, out: &mut Vec<VarValue<'a>>| {
        if selector.selects(key) {
            out.push(VarValue {
                var,
                key: Some(Cow::Borrowed(key)),
                value,
            });
        }
    };
    match var {
        Var::Files => {
            for f in mp.files.iter() {
                keyed(&f.name, Cow::Borrowed(&f.filename), out);
            }
        }
        Var::FilesNames => {
            for f in mp.files.iter() {
                keyed(&f.name, Cow::Borrowed(&f.name), out);
            }
        }
        Var::FilesSizes => {
            for f in mp.files.iter() {
                keyed(
                    &f.name,
                    Cow::Owned(f.content.len().to_string().into_bytes()),
                    out,
                );
            }
        }
        Var::FilesTmpContent => {
            for f in mp.files.iter() {
                keyed(&f.name, Cow::Borrowed(&f.content), out);
            }
        }
        Var::FilesTmpNames => {}
        Var::FilesCombinedSize => {
            let total: usize = mp.files.iter().map(|f| f.size).sum();
            push_single(var, Cow::Owned(total.to_string().into_bytes()), out);
        }
        Var::MultipartName => {
            for name in mp.names.iter() {
                keyed(name, Cow::Borrowed(name), out);
            }
        }
        Var::MultipartFilename => {
            for name in mp.filenames.iter() {
                keyed(name, Cow::Borrowed(name), out);
            }
        }
        Var::MultipartPartHeaders => {
            for (name, line) in mp.part_headers.iter() {
                keyed(name, Cow::Borrowed(line), out);
            }
        }
        Var::MultipartStrictError => push_single(var, flag(mp.flags.strict_error()), out),
        Var::MultipartUnmatchedBoundary => push_single(
            var,
            Cow::Owned(mp.flags.unmatched_boundary_value.to_string().into_bytes()),
            out,
        ),
        Var::MultipartBoundaryQuoted => push_single(var, flag(mp.flags.boundary_quoted), out),
        Var::MultipartBoundaryWhitespace => {
            push_single(var, flag(mp.flags.boundary_whitespace), out)
        }
        Var::MultipartCrlfLfLines => push_single(var, flag(mp.flags.crlf_lf_lines), out),
        Var::MultipartDataAfter => push_single(var, flag(mp.flags.data_after), out),
        Var::MultipartDataBefore => push_single(var, flag(mp.flags.data_before), out),
        Var::MultipartFileLimitExceeded => {
            push_single(var, flag(mp.flags.file_limit_exceeded), out)
        }
        Var::MultipartHeaderFolding => push_single(var, flag(mp.flags.header_folding), out),
        Var::MultipartInvalidHeaderFolding => {
            push_single(var, flag(mp.flags.invalid_header_folding), out)
        }
        Var::MultipartInvalidPart => push_single(var, flag(mp.flags.invalid_part), out),
        Var::MultipartInvalidQuoting => push_single(var, flag(mp.flags.invalid_quoting), out),
        Var::MultipartLfLine => push_single(var, flag(mp.flags.lf_line), out),
        Var::MultipartMissingSemicolon => push_single(var, flag(mp.flags.missing_semicolon), out),
        _ => {}
    }
}
