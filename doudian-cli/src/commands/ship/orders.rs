//! The orders to ship: `order_id,company_code,tracking_no` lines, and this worker's share.

use std::collections::BTreeMap;

/// One order to ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub order_id: String,
    pub company_code: String,
    pub tracking_no: String,
}

/// Reads `order_id,company_code,tracking_no` lines: blank lines and `#` comments are
/// skipped, so is a first line naming the columns; fields may be double-quoted. An order
/// listed twice with the same values counts once; with different values it is an error
/// (which tracking number is right?).
pub fn parse_csv(text: &str, source: &str) -> Result<Vec<Shipment>, String> {
    let mut seen: BTreeMap<String, (usize, Shipment)> = BTreeMap::new();
    let mut order = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"').trim()).collect();
        if order.is_empty() && seen.is_empty() && fields.first().is_some_and(|f| f.eq_ignore_ascii_case("order_id")) {
            continue;
        }
        let [order_id, company_code, tracking_no] = fields[..] else {
            return Err(format!(
                "{source}:{number}: expected order_id,company_code,tracking_no; found {} field(s)",
                fields.len()
            ));
        };
        for (name, value) in [("order_id", order_id), ("company_code", company_code), ("tracking_no", tracking_no)] {
            if value.is_empty() || value.chars().any(char::is_whitespace) {
                return Err(format!("{source}:{number}: {name} `{value}` is empty or has spaces"));
            }
        }
        let shipment = Shipment {
            order_id: order_id.to_owned(),
            company_code: company_code.to_owned(),
            tracking_no: tracking_no.to_owned(),
        };
        match seen.get(order_id) {
            Some((_, earlier)) if *earlier == shipment => {}
            Some((earlier_line, _)) => {
                return Err(format!(
                    "{source}:{number}: order {order_id} is also on line {earlier_line} with another carrier or tracking number"
                ))
            }
            None => {
                seen.insert(order_id.to_owned(), (number, shipment.clone()));
                order.push(shipment);
            }
        }
    }
    Ok(order)
}

/// Which of `workers` workers ships `order_id`: FNV-1a (64-bit) of the id's bytes, modulo
/// `workers`. Stable across machines and runs, so every worker reading the same file
/// takes a disjoint share and together they take every order.
pub fn shard_of(order_id: &str, workers: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in order_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(workers.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_with_a_header_comments_and_quotes() {
        let text = "order_id,company_code,tracking_no\n# today's batch\n\n6928371640000000000,zhongtong,ZT1\n\"6928371640000000001\", \"yuantong\" ,YT2\r\n";
        let orders = parse_csv(text, "in.csv").unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[1].company_code, "yuantong");
        assert_eq!(orders[1].tracking_no, "YT2");
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_csv("1,zt\n", "in.csv").unwrap_err();
        assert!(e.starts_with("in.csv:1:") && e.contains("2 field"), "{e}");
        let e = parse_csv("1,zt,A\n2,zt,B\n1,zt,C\n", "-").unwrap_err();
        assert!(e.contains("-:3") && e.contains("line 1"), "{e}");
        let e = parse_csv("1,,A\n", "f").unwrap_err();
        assert!(e.contains("company_code"), "{e}");
        // The same line twice is one order.
        assert_eq!(parse_csv("1,zt,A\n1,zt,A\n", "f").unwrap().len(), 1);
    }

    #[test]
    fn shards_are_disjoint_and_cover_every_order() {
        let ids: Vec<String> = (0..4000u64).map(|n| (6_928_371_640_000_000_000 + n).to_string()).collect();
        let mut counts = [0usize; 4];
        for id in &ids {
            counts[shard_of(id, 4) as usize] += 1;
            assert_eq!(shard_of(id, 1), 0);
        }
        assert_eq!(counts.iter().sum::<usize>(), ids.len());
        // Balanced within 10% of a quarter each.
        assert!(counts.iter().all(|&n| (900..=1100).contains(&n)), "{counts:?}");
    }
}
