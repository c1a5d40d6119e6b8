//! The path search (spec 7): reachability from an object's vertex to a node's vertex along
//! edges valid at t, never following an edge whose destination is another node.
//!
//! Each vertex's edges are sorted by destination node, so a step looks only at the edges bound
//! for the requested node plus those without a destination: a secret shared by 250 PVs whose
//! claims are mounted by 250 pods each costs 250 short binary searches, not 62,500 edge checks.
//! Visited marks are generation-stamped in a per-thread scratch area, so a query allocates
//! nothing after the first one on a thread and `&Graph` is freely shared between threads.

use super::intern::VertexId;
use super::{Edge, Graph, NO_DEST};
use crate::record::Micros;
use std::cell::RefCell;

#[derive(Default)]
struct Scratch {
    stamp: Vec<u32>,
    parent: Vec<VertexId>,
    generation: u32,
    stack: Vec<VertexId>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The edges of `edges` (sorted by `dest`) whose destination is `dest`.
fn with_dest(edges: &[Edge], dest: VertexId) -> &[Edge] {
    let lo = edges.partition_point(|e| e.dest < dest);
    let hi = lo + edges[lo..].partition_point(|e| e.dest == dest);
    &edges[lo..hi]
}

impl Graph {
    /// The vertices of a path from `start` to `target` valid at `at`, both ends included.
    pub(crate) fn search(
        &self,
        start: VertexId,
        target: VertexId,
        at: Micros,
    ) -> Option<Vec<VertexId>> {
        if start == target {
            return Some(vec![start]);
        }
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let s = &mut *guard;
            let n = self.vertex_count();
            if s.stamp.len() < n {
                s.stamp.resize(n, 0);
                s.parent.resize(n, 0);
            }
            s.generation = s.generation.wrapping_add(1);
            if s.generation == 0 {
                // Stamps from 2^32 queries ago would look current: start over.
                s.stamp.iter_mut().for_each(|x| *x = 0);
                s.generation = 1;
            }
            let generation = s.generation;
            s.stack.clear();
            s.stack.push(start);
            if let Some(x) = s.stamp.get_mut(start as usize) {
                *x = generation;
            }
            while let Some(v) = s.stack.pop() {
                let edges = self.edges_of(v);
                let candidates = with_dest(edges, target)
                    .iter()
                    .chain(with_dest(edges, NO_DEST));
                for e in candidates {
                    let Some(stamp) = s.stamp.get_mut(e.to as usize) else {
                        continue;
                    };
                    if *stamp == generation || !self.edge_valid(e, at) {
                        continue;
                    }
                    *stamp = generation;
                    if let Some(p) = s.parent.get_mut(e.to as usize) {
                        *p = v;
                    }
                    if e.to == target {
                        return Some(path_to(&s.parent, start, target));
                    }
                    s.stack.push(e.to);
                }
            }
            None
        })
    }
}

fn path_to(parent: &[VertexId], start: VertexId, target: VertexId) -> Vec<VertexId> {
    let mut path = vec![target];
    let mut v = target;
    // The graph is acyclic, so at most one step per vertex; the bound guards bad data.
    while v != start && path.len() <= parent.len() {
        v = parent.get(v as usize).copied().unwrap_or(start);
        path.push(v);
    }
    path.reverse();
    path
}
