#include "upline/points.hpp"
#include <doctest/doctest.h>
TEST_CASE("placeholder compile") { CHECK(upline::format_units(1250, 2) == "12.50"); }
