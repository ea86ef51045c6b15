/**
 * Which reproducible-notes issues name each variation: a culprit verdict links
 * to the first of its variation's issues that the imported issues.yml has,
 * preferring one the package's own note lists. One table; names as the
 * reproducible-notes repository spells them (only those that exist link).
 */
const VARIATION_ISSUES: Readonly<Record<string, readonly string[]>> = {
  BUILD_PATH: ['captures_build_path', 'build_path_captured_in_assembly_objects', 'build_id_differences_only'],
  DATE: ['timestamps_in_documentation', 'timestamps_in_gzip_headers', 'timestamps_in_tarball', 'timestamps_in_static_libraries', 'embeds_build_date'],
  TZ: ['timezone_dependent_output', 'timestamps_in_documentation'],
  FILEORDERING: ['random_order_in_tarball', 'filesystem_ordering_in_md5sums', 'nondeterministic_ordering_of_files'],
  UMASK: ['different_due_to_umask'],
  BUILD_USER: ['users_and_groups_in_tarball', 'captures_build_user'],
  HOSTNAME: ['user_hostname_manually_added_in_documentation', 'captures_build_hostname'],
  DOMAINNAME: ['captures_build_domainname'],
  LANG: ['locale_dependent_order', 'locale_dependent_symbol_order_by_sort', 'captures_locale'],
  LC_ALL: ['locale_dependent_order', 'captures_locale'],
  KERNEL_PERSONALITY: ['captures_kernel_version', 'captures_build_arch'],
  PARALLEL: ['captures_parallel_jobs', 'nondeterminism_in_parallel_build'],
  HOME: ['captures_home_dir'],
  CAPTURE_ENVIRONMENT: ['captures_environment_variables', 'captures_shell_variable_in_autofoo_script'],
  PATH: ['leaks_path_environment_variable'],
  NOCHECK: ['nocheck_build_differs'],
  BINSH: ['captures_shell_used', 'bin_sh_is_bash'],
};

/** The issue a culprit variation links to: one the package's note lists first, else the first the notes define; null when none. */
export function issueForVariation(key: string, noted: readonly string[], known: ReadonlySet<string>): string | null {
  const names = VARIATION_ISSUES[key] ?? [];
  return names.find((n) => noted.includes(n) && known.has(n)) ?? names.find((n) => known.has(n)) ?? null;
}
