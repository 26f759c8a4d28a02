-- buildledger schema v12: the admission webhook records each admitted
-- object's containers, replacing that object's rows: find them by object.
CREATE INDEX inventory_by_object ON inventory (cluster, namespace, workload_kind, workload_name, pod);
