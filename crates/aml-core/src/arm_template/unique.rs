//! `uniqueString()` as Azure Resource Manager computes it: its arguments joined with `-`,
//! hashed with the 64-bit MurmurHash variant ARM uses (two 32-bit lanes, its own
//! constants), and the hash's top 65 bits written as 13 characters of RFC 4648's base-32
//! alphabet in lowercase. A deployment's names depend on it, so the emulator must agree
//! with Azure to the character.

const C1: u32 = 0xab0e_9789;
const C2: u32 = 0x239b_961b;
const C3: u32 = 0x85eb_ca6b;
const C4: u32 = 0xc2b2_ae35;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn word(bytes: &[u8]) -> u32 {
    bytes.iter().rev().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

fn mix_first(k: u32) -> u32 {
    k.wrapping_mul(C2).rotate_left(15).wrapping_mul(C1)
}

fn mix_second(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(17).wrapping_mul(C2)
}

fn finish(mut h: u32) -> u32 {
    h = (h ^ (h >> 16)).wrapping_mul(C3);
    h = (h ^ (h >> 13)).wrapping_mul(C4);
    h ^ (h >> 16)
}

fn hash64(data: &[u8]) -> u64 {
    let (mut h1, mut h2) = (0u32, 0u32);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        h1 = (h1 ^ mix_first(word(&block[..4]))).rotate_left(19).wrapping_add(h2);
        h1 = h1.wrapping_mul(5).wrapping_add(0x561c_cd1b);
        h2 = (h2 ^ mix_second(word(&block[4..]))).rotate_left(13).wrapping_add(h1);
        h2 = h2.wrapping_mul(5).wrapping_add(0x0bca_a747);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        h1 ^= mix_first(word(&tail[..tail.len().min(4)]));
        if tail.len() > 4 {
            h2 ^= mix_second(word(&tail[4..]));
        }
    }
    // The length is a 32-bit count in the reference; templates never reach 4 GiB.
    let length = data.len() as u32;
    let r0 = h2 ^ length;
    let r1 = (h1 ^ length).wrapping_add(r0);
    let r2 = r0.wrapping_add(r1);
    let (r1, r2) = (finish(r1), finish(r2));
    let low = r1.wrapping_add(r2);
    let high = r2.wrapping_add(low);
    (u64::from(high) << 32) | u64::from(low)
}

/// `uniqueString(parts…)`: 13 lowercase letters and digits 2–7.
pub fn unique_string(parts: &[String]) -> String {
    let mut hash = hash64(parts.join("-").as_bytes());
    (0..13)
        .map(|_| {
            let index = (hash >> 59) as usize & 31;
            hash <<= 5;
            char::from(ALPHABET[index])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::unique_string;

    fn of(parts: &[&str]) -> String {
        unique_string(&parts.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    }

    /// Values `uniqueString()` gives in Azure (and Bicep's local evaluation) for these
    /// arguments: every tail length of the hash's 8-byte blocks is among them.
    #[test]
    fn agrees_with_azure() {
        assert_eq!(of(&["test"]), "rbgf3xv4ufgzg");
        assert_eq!(of(&["hello", "world"]), "a7wkljktk6wne");
        assert_eq!(of(&["abc"]), "cgtzqvhu4i23s");
        assert_eq!(of(&["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"]), "bmg7c6xu4tw46");
        assert_eq!(of(&["foo", "bar", "baz"]), "xzi4ioaxtmth4");
    }

    #[test]
    fn is_thirteen_characters_of_its_alphabet_for_any_input() {
        for input in ["", "a", "ab", "abcdefgh", "abcdefghi", "ünïcödé", &"x".repeat(1000)] {
            let value = of(&[input]);
            assert_eq!(value.len(), 13, "{input}");
            assert!(value.chars().all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)), "{value}");
        }
    }
}
