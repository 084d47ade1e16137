// tests/support/catch_pch.cc — an empty translation unit: its target,
// pw_catch_pch, only builds the precompiled catch2/catch.hpp that every
// pw_test reuses (tests/CMakeLists.txt). Parsing the 17k-line header once
// instead of once per test file is a minute of each CI build on 2 cores.
