// What a grant user may read in ClickHouse's `system` database (docs/targets/clickhouse.md).
// One table of truth for both modes: the router-auth SQL gate refuses the hidden columns, the
// native-cert users.d grants SELECT on everything else. Tables not listed here are refused (newer
// servers add tables such as text_log or zookeeper whose contents we have not reviewed).
//
// Hidden columns carry other users' query text or what may embed it (exceptions, stack traces,
// mutation commands, settings values), or secrets (dictionary sources, table engine arguments
// such as MySQL('host', 'db', 't', 'user', 'password')).

const words = (s: string): string[] => s.split(' ');

/**
 * system tables the engineer may read; the value lists the columns hidden from them. A nested
 * column is hidden as a whole (`Settings` covers Settings.Names and Settings.Values).
 */
export const SYSTEM_TABLES: Readonly<Record<string, readonly string[]>> = {
  aggregate_function_combinators: [],
  asynchronous_metrics: [],
  build_options: [],
  clusters: [],
  collations: [],
  columns: [],
  contributors: [],
  data_type_families: [],
  databases: [],
  dictionaries: ['source', 'last_exception'],
  events: [],
  formats: [],
  functions: [],
  graphite_retentions: [],
  macros: [],
  merge_tree_settings: [],
  merges: [],
  metrics: [],
  models: ['last_exception'],
  mutations: ['command'],
  numbers: [],
  numbers_mt: [],
  one: [],
  parts: [],
  parts_columns: [],
  processes: ['query', 'quota_key', 'Settings'],
  query_log: ['query', 'formatted_query', 'exception', 'stack_trace', 'quota_key', 'log_comment', 'Settings'],
  query_thread_log: ['query', 'quota_key'],
  replicas: [],
  replication_queue: ['last_exception', 'postpone_reason'],
  settings: [],
  table_engines: [],
  table_functions: [],
  tables: ['create_table_query', 'engine_full'],
};

/**
 * The readable columns of the tables that hide some, for column-level GRANTs (native-cert mode):
 * ClickHouse 18.16's columns plus those of 22.3–24.x that carry no query text. A column missing
 * here is simply not granted (hidden), which errs on the safe side.
 */
export const GRANTED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  dictionaries: words(
    'database name uuid status origin type key key.names key.types attribute.names ' +
      'attribute.types bytes_allocated query_count hit_rate found_rate element_count load_factor ' +
      'lifetime_min lifetime_max loading_start_time last_successful_update_time loading_duration ' +
      'creation_time comment',
  ),
  models: words('name origin type creation_time model_path'),
  mutations: words(
    'database table mutation_id create_time block_numbers.partition_id block_numbers.number ' +
      'parts_to_do_names parts_to_do is_done latest_failed_part latest_fail_time is_killed',
  ),
  processes: words(
    'is_initial_query user query_id address port initial_user initial_query_id initial_address ' +
      'initial_port interface os_user client_hostname client_name client_revision ' +
      'client_version_major client_version_minor client_version_patch http_method http_user_agent ' +
      'elapsed is_cancelled read_rows read_bytes total_rows_approx written_rows written_bytes ' +
      'memory_usage peak_memory_usage thread_ids ProfileEvents ProfileEvents.Names ' +
      'ProfileEvents.Values current_database query_kind is_all_data_sent',
  ),
  query_log: words(
    'type event_date event_time event_time_microseconds query_start_time ' +
      'query_start_time_microseconds query_duration_ms read_rows read_bytes written_rows ' +
      'written_bytes result_rows result_bytes memory_usage current_database normalized_query_hash ' +
      'query_kind databases tables columns exception_code is_initial_query user query_id address ' +
      'port initial_user initial_query_id initial_address initial_port initial_query_start_time ' +
      'interface os_user client_hostname client_name client_revision client_version_major ' +
      'client_version_minor client_version_patch http_method http_user_agent revision ' +
      'thread_numbers thread_ids ProfileEvents ProfileEvents.Names ProfileEvents.Values',
  ),
  query_thread_log: words(
    'event_date event_time event_time_microseconds query_start_time query_start_time_microseconds ' +
      'query_duration_ms read_rows read_bytes written_rows written_bytes memory_usage ' +
      'peak_memory_usage thread_name thread_number thread_id os_thread_id master_thread_number ' +
      'master_thread_id master_os_thread_id current_database normalized_query_hash is_initial_query ' +
      'user query_id address port initial_user initial_query_id initial_address initial_port ' +
      'interface os_user client_hostname client_name client_revision client_version_major ' +
      'client_version_minor client_version_patch http_method http_user_agent revision ProfileEvents ' +
      'ProfileEvents.Names ProfileEvents.Values',
  ),
  replication_queue: words(
    'database table replica_name position node_name type create_time required_quorum ' +
      'source_replica new_part_name parts_to_merge is_detach is_currently_executing num_tries ' +
      'last_attempt_time num_postponed last_postpone_time merge_type',
  ),
  tables: words(
    'database name uuid engine is_temporary data_paths data_path metadata_path ' +
      'metadata_modification_time dependencies_database dependencies_table partition_key ' +
      'sorting_key primary_key sampling_key storage_policy total_rows total_bytes lifetime_rows ' +
      'lifetime_bytes comment has_own_data',
  ),
};

/**
 * Functions that read data outside the system tables or outside ClickHouse (dictionaries, Join
 * tables, models, other servers, files), compared in lower case; `dict*` is refused as a family.
 */
export const REFUSED_FUNCTIONS: ReadonlySet<string> = new Set(
  words(
    'columns joinget joingetornull hascolumnintable modelevaluate catboostevaluate mysql file url ' +
      'catboostpool numbers shardbyhash jdbc odbc cluster clusterallreplicas remote remotesecure ' +
      'merge hdfs s3 s3cluster input generaterandom postgresql sqlite mongodb redis executable ' +
      'azureblobstorage view viewifpermitted loop fuzzjson getsetting filesystem format',
  ),
);

export function refusedFunction(lowerName: string): boolean {
  return lowerName.startsWith('dict') || REFUSED_FUNCTIONS.has(lowerName);
}

/** The hidden columns of a system table (lower case), or undefined when it is not on the list. */
export function hiddenColumns(table: string): readonly string[] | undefined {
  const t = Object.hasOwn(SYSTEM_TABLES, table) ? SYSTEM_TABLES[table] : undefined;
  return t?.map((c) => c.toLowerCase());
}
