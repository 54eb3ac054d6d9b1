//! ringbus
