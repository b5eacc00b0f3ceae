//! `str(x)`: the decimal text of an int, as a flow string.

use crate::flow_strings::intern;

/// The most bytes of an `i64` in decimal (`-9223372036854775808`).
const MAX_DIGITS: usize = 20;

/// Writes `value` in decimal into `buf` and returns the text (no allocation).
fn decimal(value: i64, buf: &mut [u8; MAX_DIGITS]) -> &str {
    let mut n = value.unsigned_abs();
    let mut at = MAX_DIGITS;
    loop {
        at -= 1;
        if let Some(d) = buf.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        if let Some(d) = buf.get_mut(at) {
            *d = b'-';
        }
    }
    std::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or_default()
}

/// [`crate::ir::Helper::StrInt`].
///
/// # Safety
/// `pool` points to the kernel's string pool; `slot` is the flow's strings slot.
pub unsafe extern "C" fn jjc_str_int(pool: i64, slot: i64, value: i64) -> i64 {
    let mut buf = [0u8; MAX_DIGITS];
    let text = decimal(value, &mut buf);
    // SAFETY: per the contract.
    unsafe { intern(pool, slot, text) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow_strings::{RUNTIME_STRING_BASE, StringPool, jjc_str_len};
    use crate::runtime::{BufferKind, free_buffer};

    #[test]
    fn decimal_text_of_every_sign_and_size() {
        let mut buf = [0u8; MAX_DIGITS];
        assert_eq!(decimal(0, &mut buf), "0");
        assert_eq!(decimal(58, &mut buf), "58");
        assert_eq!(decimal(-7, &mut buf), "-7");
        assert_eq!(decimal(i64::MAX, &mut buf), "9223372036854775807");
        assert_eq!(decimal(i64::MIN, &mut buf), "-9223372036854775808");
    }

    #[test]
    fn texts_are_pool_ids_when_the_pool_has_them_else_flow_strings() {
        let pool = StringPool::new(&["".to_string(), "6".to_string()]);
        let p = &pool as *const StringPool as i64;
        let mut slot = 0u64;
        let s = &mut slot as *mut u64 as i64;
        // SAFETY: a live pool and a strings slot on the stack, freed below.
        unsafe {
            assert_eq!(jjc_str_int(p, s, 6), 1);
            let id = jjc_str_int(p, s, 132);
            assert_eq!(id, RUNTIME_STRING_BASE);
            assert_eq!(jjc_str_int(p, s, 132), id);
            assert_eq!(jjc_str_len(p, s, id), 3);
            assert_eq!(jjc_str_len(p, s, jjc_str_int(p, s, i64::MIN)), 20);
            free_buffer(BufferKind::Strings, slot);
        }
    }
}
