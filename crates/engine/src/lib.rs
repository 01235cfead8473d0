//! The correlation engine: takes the config model, log evidence, probe
//! outcomes and host facts as plain values and returns ranked findings with
//! SPEC cause codes. It performs no I/O, so every rule is a unit test.
