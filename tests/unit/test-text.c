/* Unit tests: UTF-8 text checked (characters counted, bad bytes found), made
 * valid for JSON, and escaped to quote in a message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/macro.h"
#include "util/strutil.h"

static void test_utf8_length(void **state)
{
        size_t bad = 99;

        (void)state;
        assert_int_equal(hp_utf8_length("", NULL), 0);
        assert_int_equal(hp_utf8_length("gpu", NULL), 3);
        assert_int_equal(hp_utf8_length("caf\xc3\xa9", NULL), 4);          /* é: 2 bytes, 1 character */
        assert_int_equal(hp_utf8_length("\xe2\x82\xac\xf0\x9f\x96\xa5", NULL), 2); /* € and 🖥 */
        assert_int_equal(hp_utf8_length("ab\xff", &bad), -EILSEQ);
        assert_int_equal(bad, 2);
        assert_int_equal(hp_utf8_length("\x80", NULL), -EILSEQ);         /* stray continuation */
        assert_int_equal(hp_utf8_length("\xc0\xaf", NULL), -EILSEQ);     /* overlong '/' */
        assert_int_equal(hp_utf8_length("\xed\xa0\x80", NULL), -EILSEQ); /* surrogate */
        assert_int_equal(hp_utf8_length("\xf4\x90\x80\x80", NULL), -EILSEQ); /* above U+10FFFF */
        assert_int_equal(hp_utf8_length("x\xe2\x82", &bad), -EILSEQ);   /* cut short */
        assert_int_equal(bad, 1);
}

static void test_is_control(void **state)
{
        (void)state;
        assert_true(hp_is_control(0x1b));
        assert_true(hp_is_control('\n'));
        assert_true(hp_is_control(0x7f));
        assert_true(hp_is_control(0x9b)); /* C1 CSI */
        assert_false(hp_is_control(' '));
        assert_false(hp_is_control(0xa0));
        assert_false(hp_is_control(0xe9));
        assert_true(hp_utf8_has_control("gpu\x1b[2J"));
        assert_true(hp_utf8_has_control("a\xc2\x9b")); /* C1 CSI, two bytes */
        assert_false(hp_utf8_has_control("caf\xc3\xa9 \xc2\xa0"));
        assert_false(hp_utf8_has_control(""));
}

static void test_utf8_replace(void **state)
{
        _cleanup_free_ char *ok = hp_utf8_replace("caf\xc3\xa9");
        _cleanup_free_ char *bad = hp_utf8_replace("a\xff" "b\xc3");

        (void)state;
        assert_string_equal(ok, "caf\xc3\xa9");
        assert_string_equal(bad, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
        assert_int_equal(hp_utf8_length(bad, NULL), 4);
}

static void test_escape(void **state)
{
        _cleanup_free_ char *plain = hp_escape("render box \xc3\xa9");
        _cleanup_free_ char *esc = hp_escape("\x1b[31mred\n\t\x7f");
        _cleanup_free_ char *c1 = hp_escape("a\xc2\x9b" "b");
        _cleanup_free_ char *bytes = hp_escape("x\xff\xfe");
        _cleanup_free_ char *twice = hp_escape("\\x1b");
        _cleanup_free_ char *empty = hp_escape("");

        (void)state;
        assert_string_equal(plain, "render box \xc3\xa9");
        assert_string_equal(esc, "\\x1b[31mred\\x0a\\x09\\x7f");
        assert_string_equal(c1, "a\\xc2\\x9bb");
        assert_string_equal(bytes, "x\\xff\\xfe");
        assert_string_equal(twice, "\\x1b"); /* escaping what is escaped changes nothing */
        assert_string_equal(empty, "");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf8_length),
                cmocka_unit_test(test_is_control),
                cmocka_unit_test(test_utf8_replace),
                cmocka_unit_test(test_escape),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
