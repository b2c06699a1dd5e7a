//! Background loops that `lib::start` spawns: the execution workers, the delivery worker,
//! the cluster heartbeat and listener, and housekeeping.

pub mod cluster;
pub mod deliveries;
pub mod housekeeping;
pub mod worker;
