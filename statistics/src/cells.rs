//! The aggregate rows (`stats_cells`) as a refresh step keeps them in memory: their key, and adding
//! a change at every level the queries read.

use crate::measures::{MEASURES, Measures, dims};
use std::collections::HashMap;

/// The key of one aggregate row: what it counts (metric, dimension and value), its month, and its
/// order and site (0: all).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CellKey {
    pub(crate) metric: &'static str,
    pub(crate) dim: &'static str,
    pub(crate) month: String,
    pub(crate) order_id: i64,
    pub(crate) site_id: i64,
    pub(crate) dim_value: String,
}

/// Adds `sign × m` to a cell, at every level queries read: the cell's order over all sites, all
/// orders and sites, and when it has a site, that site over all orders and (for the total) the
/// order at that site. Order and site 0 mean "all".
pub(crate) fn add(cells: &mut HashMap<CellKey, Measures>, key: CellKey, m: &Measures, sign: i64) {
    let (order, site) = (key.order_id, key.site_id);
    let mut levels = vec![(order, 0), (0, 0)];
    if site != 0 {
        levels.push((0, site));
        if key.dim == dims::TOTAL {
            levels.push((order, site));
        }
    }
    for (order_id, site_id) in levels {
        let cell = cells.entry(CellKey { order_id, site_id, ..key.clone() }).or_insert([0; MEASURES.len()]);
        for (c, v) in cell.iter_mut().zip(m) {
            *c += sign * v;
        }
    }
}
