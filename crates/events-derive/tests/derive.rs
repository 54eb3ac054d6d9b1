//! The event derives: misuse is refused at compile time with a message that says what to do
//! (the expected messages are the `.stderr` files beside the cases), and a payload enum of a
//! crate of one's own gets its topics, sets, interfaces and conversions.

#[test]
fn misuse_of_the_derives_is_refused_with_clear_messages() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/derive/*.rs");
    cases.pass("tests/derive-pass/*.rs");
}
