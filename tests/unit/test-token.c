/* Unit tests: API tokens as text (base64url, format, SHA-256, names) and the
 * constant-time comparison. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/macro.h"
#include "util/token.h"

static void encode_is(const char *in, size_t n, const char *want)
{
        char out[64];

        assert_int_equal(hp_base64url_encode((const uint8_t *)in, n, out, sizeof(out)), 0);
        assert_string_equal(out, want);
}

static void test_base64url(void **state)
{
        char out[5];

        (void)state;
        /* RFC 4648 §10, without the padding. */
        encode_is("", 0, "");
        encode_is("f", 1, "Zg");
        encode_is("fo", 2, "Zm8");
        encode_is("foo", 3, "Zm9v");
        encode_is("foob", 4, "Zm9vYg");
        encode_is("fooba", 5, "Zm9vYmE");
        encode_is("foobar", 6, "Zm9vYmFy");
        /* The URL alphabet: '-' and '_' where base64 has '+' and '/'. */
        encode_is("\xfb\xff", 2, "-_8");
        encode_is("\x00\x00\x00", 3, "AAAA");
        /* Four characters and the NUL need five bytes. */
        assert_int_equal(hp_base64url_encode((const uint8_t *)"foo", 3, out, 4), -ENOBUFS);
        assert_int_equal(hp_base64url_encode((const uint8_t *)"foo", 3, out, 5), 0);
        assert_string_equal(out, "Zm9v");
}

static void test_format(void **state)
{
        uint8_t raw[HP_TOKEN_BYTES];
        char tok[HP_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(HP_TOKEN_LEN, 47);
        memset(raw, 0, sizeof(raw));
        hp_token_format(raw, tok);
        assert_string_equal(tok, "hwp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        memset(raw, 0xff, sizeof(raw));
        hp_token_format(raw, tok);
        assert_string_equal(tok, "hwp_"
                                 "__________________________________________8");
}

static void test_generate(void **state)
{
        char a[HP_TOKEN_LEN + 1], b[HP_TOKEN_LEN + 1];

        (void)state;
        assert_int_equal(hp_token_generate(a), 0);
        assert_int_equal(hp_token_generate(b), 0);
        assert_int_equal(strlen(a), HP_TOKEN_LEN);
        assert_memory_equal(a, "hwp_", 4);
        for (const char *p = a + 4; *p; p++)
                assert_non_null(strchr(
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
        assert_string_not_equal(a, b);
}

static void test_hash(void **state)
{
        char h[HP_TOKEN_HASH_LEN + 1];

        (void)state;
        /* FIPS 180-2's examples. */
        assert_int_equal(hp_token_hash("abc", h), 0);
        assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(hp_token_hash("", h), 0);
        assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_true(hp_token_hash_is_valid(h));
        assert_int_equal(hp_token_hash(NULL, h), -EINVAL);

        assert_false(hp_token_hash_is_valid(NULL));
        assert_false(hp_token_hash_is_valid(""));
        assert_false(hp_token_hash_is_valid(
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        assert_false(hp_token_hash_is_valid(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
        assert_false(hp_token_hash_is_valid(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"));
        assert_false(hp_token_hash_is_valid(
                "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

static void test_names(void **state)
{
        char longest[HP_TOKEN_NAME_MAX + 2];

        (void)state;
        assert_true(hp_token_name_is_valid("ci"));
        assert_true(hp_token_name_is_valid("Build-01_x.y"));
        assert_true(hp_token_name_is_valid("7"));
        memset(longest, 'a', sizeof(longest));
        longest[HP_TOKEN_NAME_MAX] = '\0';
        assert_true(hp_token_name_is_valid(longest));
        longest[HP_TOKEN_NAME_MAX] = 'a';
        longest[HP_TOKEN_NAME_MAX + 1] = '\0';
        assert_false(hp_token_name_is_valid(longest));
        assert_false(hp_token_name_is_valid(NULL));
        assert_false(hp_token_name_is_valid(""));
        assert_false(hp_token_name_is_valid("a b"));
        assert_false(hp_token_name_is_valid("a/b"));
        assert_false(hp_token_name_is_valid("a'b"));
        assert_false(hp_token_name_is_valid("caf\xc3\xa9"));
}

static void test_memeq(void **state)
{
        (void)state;
        assert_true(hp_memeq_const_time("abcdef", "abcdef", 6));
        assert_false(hp_memeq_const_time("abcdef", "abcdeg", 6));
        assert_false(hp_memeq_const_time("xbcdef", "abcdef", 6));
        assert_true(hp_memeq_const_time("abc", "abd", 2));
        assert_true(hp_memeq_const_time("a", "b", 0));
}

/* A token's limits: joined sorted and each once; a name is in a list only whole. */
static void test_scope_lists(void **state)
{
        char *const names[] = { "web", "gpu-02", "web", "gpu-01" };
        char *const comma[] = { "a,b" }, *const empty[] = { "" };
        struct hp_token_scope sc = { 0 };
        char *out = (char *)"untouched";

        (void)state;
        assert_int_equal(hp_token_list_join(names, 4, &out), 0);
        assert_string_equal(out, "gpu-01,gpu-02,web");
        assert_true(hp_token_list_has(out, "gpu-01"));
        assert_true(hp_token_list_has(out, "gpu-02"));
        assert_true(hp_token_list_has(out, "web"));
        assert_false(hp_token_list_has(out, "gpu-0"));
        assert_false(hp_token_list_has(out, "gpu"));
        assert_false(hp_token_list_has(out, "we"));
        assert_false(hp_token_list_has(out, "gpu-01,gpu-02"));
        assert_false(hp_token_list_has(out, "webs"));
        assert_true(hp_token_list_has(NULL, "anything")); /* no limit */
        sc.hosts = out;
        assert_true(hp_token_scope_limited(&sc));
        hp_token_scope_done(&sc);
        assert_null(sc.hosts);
        assert_false(hp_token_scope_limited(&sc));
        assert_false(hp_token_scope_limited(NULL));

        assert_int_equal(hp_token_list_join(names, 0, &out), 0);
        assert_null(out);
        out = (char *)"untouched";
        assert_int_equal(hp_token_list_join(comma, 1, &out), -EINVAL);
        assert_int_equal(hp_token_list_join(empty, 1, &out), -EINVAL);
        assert_string_equal(out, "untouched");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_base64url),   cmocka_unit_test(test_format),
                cmocka_unit_test(test_generate),    cmocka_unit_test(test_hash),
                cmocka_unit_test(test_names),       cmocka_unit_test(test_memeq),
                cmocka_unit_test(test_scope_lists),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
