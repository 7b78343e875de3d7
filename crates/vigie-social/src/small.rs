//! A small fixed-capacity set of ids (topics or places hit by one post), so that the hot
//! path does not allocate.

/// Up to 8 distinct `u16` ids, in insertion order; more are ignored (and flagged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmallIds {
    ids: [u16; 8],
    len: u8,
    pub overflowed: bool,
}

impl SmallIds {
    pub fn push(&mut self, id: u16) {
        if self.as_slice().contains(&id) {
            return;
        }
        if (self.len as usize) < self.ids.len() {
            self.ids[self.len as usize] = id;
            self.len += 1;
        } else {
            self.overflowed = true;
        }
    }

    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn clear(&mut self) {
        *self = SmallIds::default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_distinct_ids_up_to_capacity() {
        let mut s = super::SmallIds::default();
        for i in [3, 3, 1, 2, 4, 5, 6, 7, 8, 9, 10] {
            s.push(i);
        }
        assert_eq!(s.as_slice(), [3, 1, 2, 4, 5, 6, 7, 8]);
        assert!(s.overflowed);
    }
}
