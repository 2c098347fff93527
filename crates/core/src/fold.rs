//! The call fold: PBX leg events in, logical calls out. (Filled in below.)
