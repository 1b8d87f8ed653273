//! Random container names in Docker's `adjective_surname` style. The word
//! lists are berth's own: adjectives, and surnames of people who shaped
//! computing and science.

const ADJECTIVES: &[&str] = &[
    "agile",
    "amazing",
    "bold",
    "brave",
    "bright",
    "busy",
    "calm",
    "careful",
    "cheerful",
    "clever",
    "cool",
    "curious",
    "daring",
    "dazzling",
    "eager",
    "elastic",
    "elegant",
    "epic",
    "fervent",
    "festive",
    "fluffy",
    "focused",
    "friendly",
    "gallant",
    "gentle",
    "glad",
    "graceful",
    "happy",
    "hardcore",
    "honest",
    "hopeful",
    "humble",
    "inspiring",
    "jolly",
    "keen",
    "kind",
    "laughing",
    "lively",
    "loving",
    "lucid",
    "modest",
    "musing",
    "nervous",
    "nice",
    "nimble",
    "noble",
    "patient",
    "peaceful",
    "pensive",
    "placid",
    "plucky",
    "polite",
    "practical",
    "proud",
    "quiet",
    "quirky",
    "rapid",
    "relaxed",
    "resolute",
    "romantic",
    "serene",
    "sharp",
    "shy",
    "silly",
    "sleepy",
    "smart",
    "snappy",
    "solid",
    "stoic",
    "steady",
    "sturdy",
    "sunny",
    "sweet",
    "swift",
    "tender",
    "thirsty",
    "tidy",
    "trusting",
    "upbeat",
    "vibrant",
    "vigilant",
    "vivid",
    "wise",
    "witty",
    "wonderful",
    "youthful",
    "zealous",
    "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi",
    "allen",
    "archimedes",
    "babbage",
    "backus",
    "bardeen",
    "bartik",
    "bell",
    "berners",
    "bohr",
    "boole",
    "borg",
    "bose",
    "brahmagupta",
    "cannon",
    "cerf",
    "chandrasekhar",
    "clarke",
    "codd",
    "conway",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "engelbart",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hodgkin",
    "hopper",
    "hypatia",
    "jackson",
    "jemison",
    "johnson",
    "kalam",
    "kepler",
    "knuth",
    "kowalevski",
    "lamarr",
    "lamport",
    "leakey",
    "liskov",
    "lovelace",
    "maxwell",
    "mccarthy",
    "meitner",
    "mendel",
    "minsky",
    "mirzakhani",
    "morse",
    "newton",
    "nobel",
    "noether",
    "pascal",
    "pasteur",
    "perlman",
    "planck",
    "raman",
    "ride",
    "ritchie",
    "rubin",
    "sammet",
    "shannon",
    "shockley",
    "sinoussi",
    "stallman",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "varahamihira",
    "volhard",
    "wiles",
    "williams",
    "wilson",
    "wozniak",
    "wright",
    "yalow",
    "yonath",
];

/// A random `adjective_surname` name.
pub fn random_name() -> String {
    use rand::seq::SliceRandom;
    let mut rng = rand::thread_rng();
    let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("quiet");
    let surname = SURNAMES.choose(&mut rng).copied().unwrap_or("turing");
    format!("{adjective}_{surname}")
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, with an
/// optional leading `/`.
pub fn is_valid_name(name: &str) -> bool {
    let name = name.strip_prefix('/').unwrap_or(name);
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_names_have_docker_shape() {
        for _ in 0..50 {
            let n = random_name();
            let (a, s) = n.split_once('_').unwrap();
            assert!(ADJECTIVES.contains(&a) && SURNAMES.contains(&s), "{n}");
            assert!(is_valid_name(&n));
        }
    }

    #[test]
    fn name_rule() {
        assert!(is_valid_name("web"));
        assert!(is_valid_name("/web-1.a_b"));
        assert!(!is_valid_name("a"));
        assert!(!is_valid_name("-web"));
        assert!(!is_valid_name("we b"));
        assert!(!is_valid_name("web/x"));
    }
}
