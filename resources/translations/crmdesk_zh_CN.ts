<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>ActionDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="+175"/>
        <source>Complaint {number} · {customer} · {category}</source>
        <translation>投诉 {number} · {customer} · {category}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>AddStaffDialog</name>
    <message>
        <location filename="../../crmdesk/views/staff_dialogs.py" line="+85"/>
        <source>Add staff member</source>
        <translation>添加员工</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Name:</source>
        <translation>姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Role:</source>
        <translation>角色(&amp;R)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>4 to 6 digits</source>
        <translation>4至6位数字</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;PIN:</source>
        <translation>PIN码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>R&amp;epeat PIN:</source>
        <translation>确认PIN码(&amp;E)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>optional; at least {count} characters</source>
        <translation>可选，至少{count}个字符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pass&amp;word:</source>
        <translation>密码(&amp;W)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The two PINs differ.</source>
        <translation>两次输入的PIN码不一致。</translation>
    </message>
</context>
<context>
    <name>AdjustPointsDialog</name>
    <message>
        <location filename="../../crmdesk/views/member_profile.py" line="+216"/>
        <source>Adjust points</source>
        <translation>调整积分</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>e.g. 200 or -150</source>
        <translation>例如 200 或 -150</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>required, e.g. points lost in the old system</source>
        <translation>必填，例如旧系统中丢失的积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Points:</source>
        <translation>积分(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
</context>
<context>
    <name>AssignDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="+51"/>
        <source>Assign complaint</source>
        <translation>指派投诉</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Assign</source>
        <translation>指派(&amp;A)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No one in particular</source>
        <translation>不指定具体人员</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>e.g. fresh food, checkout, service desk</source>
        <translation>例如：生鲜、收银、服务台</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Staff member:</source>
        <translation>员工(&amp;S)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Department:</source>
        <translation>部门(&amp;D)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>N&amp;ote:</source>
        <translation>备注(&amp;O)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>You may take the complaint yourself; a supervisor assigns it to others.</source>
        <translation>您可以自己接手此投诉；如需指派给他人，请由主管操作。</translation>
    </message>
</context>
<context>
    <name>AuditTab</name>
    <message>
        <location filename="../../crmdesk/views/audit_tab.py" line="+245"/>
        <source>Member: name, phone or card…</source>
        <translation>会员：姓名、手机或卡号…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sensitive only</source>
        <translation>仅敏感操作</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Staff:</source>
        <translation>员工：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Action:</source>
        <translation>操作：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Days:</source>
        <translation>日期：</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Anyone</source>
        <translation>全部员工</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Any action</source>
        <translation>全部操作</translation>
    </message>
    <message>
        <location line="+67"/>
        <source>{count} events</source>
        <translation>共 {count} 条记录</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>audit-log-{date}.xlsx</source>
        <translation>审计日志-{date}.xlsx</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Export the audit log</source>
        <translation>导出审计日志</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Excel workbook (*.xlsx);;CSV for Excel and WPS (*.csv)</source>
        <translation>Excel 工作簿 (*.xlsx);;适用于 Excel 和 WPS 的 CSV (*.csv)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Exporting the audit log…</source>
        <translation>正在导出审计日志…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported {count} events to {path}.</source>
        <translation>已将 {count} 条记录导出到 {path}。</translation>
    </message>
</context>
<context>
    <name>BackupGuard</name>
    <message>
        <location filename="../../crmdesk/views/backup_guard.py" line="+120"/>
        <source>Backing up before closing…</source>
        <translation>正在关闭前备份…</translation>
    </message>
</context>
<context>
    <name>BackupStatusButton</name>
    <message>
        <location filename="../../crmdesk/views/backup_status.py" line="+29"/>
        <source>Backups: on the server</source>
        <translation>备份：由服务器负责</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Back the server up with pg_dump, or run &apos;crmdesk backup&apos;.</source>
        <translation>请在服务器上用 pg_dump 备份，或运行“crmdesk backup”。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Backup failed</source>
        <translation>备份失败</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No backup yet</source>
        <translation>尚无备份</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Settings → Backup and restore → Back up now.</source>
        <translation>设置 → 备份与恢复 → 立即备份。</translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>No backup for %n day(s)</source>
        <translation>
            <numerusform>已 %n 天没有备份</numerusform>
        </translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last good backup: {when}</source>
        <translation>最近一次成功备份：{when}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Second place missing</source>
        <translation>第二备份位置不可用</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{folder} cannot be reached since {since}: plug in the stick or check the drive.</source>
        <translation>自 {since} 起无法访问 {folder}：请插入U盘或检查网络盘。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Backed up {when}</source>
        <translation>已备份 {when}</translation>
    </message>
</context>
<context>
    <name>BackupTab</name>
    <message>
        <location filename="../../crmdesk/views/backup_tab.py" line="+62"/>
        <source>&amp;Back up now</source>
        <translation>立即备份(&amp;B)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Restore this copy…</source>
        <translation>恢复此备份(&amp;R)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Restore from a &amp;file…</source>
        <translation>从文件恢复(&amp;F)…</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Taken</source>
        <translation>备份时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Why</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Members</source>
        <translation>会员数</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Keeping copies</source>
        <translation>备份保留</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>daily</source>
        <translation>每日</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>weekly</source>
        <translation>每周</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>monthly</source>
        <translation>每月</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>After today and yesterday, keep:</source>
        <translation>今天和昨天的全部保留，此外保留：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>a folder on a USB stick or network drive</source>
        <translation>U盘或网络盘上的文件夹</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Br&amp;owse…</source>
        <translation>浏览(&amp;O)…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Second place:</source>
        <translation>第二备份位置(&amp;S)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>keep always</source>
        <translation>永久保留</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> years</source>
        <translation> 年</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Anonymise members closed for more than:</source>
        <translation>注销超过以下年限的会员自动匿名化：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;List…</source>
        <translation>查看名单(&amp;L)…</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Sa&amp;ve</source>
        <translation>保存(&amp;V)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Is the data sound?</source>
        <translation>数据是否完好？</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Checks the file, every balance against its ledger, and states that cannot be.</source>
        <translation>检查数据库文件、每项余额与其流水是否一致，以及不可能出现的状态。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Check now</source>
        <translation>立即检查(&amp;C)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Re&amp;pair figures</source>
        <translation>修复数字(&amp;P)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recomputes the figures that come from a ledger; a backup is taken first.</source>
        <translation>按流水重新计算缓存的数字；修复前先自动备份。</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Nobody is due for anonymising.</source>
        <translation>目前没有需要匿名化的会员。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} closed members are due for anonymising with the next daily backup ({blocked} hold money and wait).</source>
        <translation>{count} 位已注销会员将在下次每日备份时匿名化（其中 {blocked} 位仍有余额或欠款，暂缓处理）。</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>The database is on a server: back it up there, or with &apos;crmdesk backup&apos; (pg_dump) into {folder}.</source>
        <translation>数据库在服务器上：请在服务器上备份，或用“crmdesk backup”（pg_dump）备份到 {folder}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Copies are kept in {folder}.</source>
        <translation>备份保存在 {folder}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Last good backup: {when}.</source>
        <translation>最近一次成功备份：{when}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No backup yet.</source>
        <translation>尚无备份。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The second place {folder} cannot be reached (since {since}): plug in the stick or check the drive.</source>
        <translation>第二备份位置 {folder} 无法访问（自 {since} 起）：请插入U盘或检查网络盘。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Last copy to the second place: {when}.</source>
        <translation>最近一次复制到第二备份位置：{when}。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Backing up…</source>
        <translation>正在备份…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Backed up {members} members to {file} ({size}), checked.</source>
        <translation>已备份 {members} 位会员到 {file}（{size}），已校验。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Restore from a file</source>
        <translation>从文件恢复</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>crmdesk backups (*.sqlite.gz *.sqlite)</source>
        <translation>crmdesk 备份 (*.sqlite.gz *.sqlite)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{count} members</source>
        <translation>{count} 位会员</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>its members</source>
        <translation>其中的会员</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Restore a backup</source>
        <translation>恢复备份</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Replace all the data with the copy of {when} ({count})?

What is there now is backed up first. Other tills and windows reopen on the restored data.</source>
        <translation>用 {when} 的备份（{count}）替换全部数据吗？

现有数据会先备份。其他收银台和窗口会在恢复后的数据上重新打开。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Restoring…</source>
        <translation>正在恢复…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The data check finds it sound.</source>
        <translation>数据检查结果：完好。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The data check found {count} problems: see &apos;Check now&apos;.</source>
        <translation>数据检查发现 {count} 个问题：请点“立即检查”查看。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Restored</source>
        <translation>已恢复</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Restored {members} members from {file}. The data as it was is kept as {safety}.
{verdict}</source>
        <translation>已从 {file} 恢复 {members} 位会员。恢复前的数据已保存为 {safety}。
{verdict}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>holds money: waits</source>
        <translation>仍有余额或欠款：暂缓</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Due for anonymising</source>
        <translation>待匿名化的会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} closed members, longest closed first. Their names, phones and notes are removed; purchases and balances stay.</source>
        <translation>{count} 位已注销会员，按注销时间从早到晚排列。将删除姓名、手机号和备注；消费记录和余额流水保留。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Second place for backups</source>
        <translation>第二备份位置</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Checking the data…</source>
        <translation>正在检查数据…</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Repaired {count} figures from their sources.</source>
        <translation>已按来源修复 {count} 个数字。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Checked {count} members: the data is sound.</source>
        <translation>已检查 {count} 位会员：数据完好。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{count} problems found:</source>
        <translation>发现 {count} 个问题：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>… and {count} more (&apos;crmdesk check&apos; lists them all).</source>
        <translation>……还有 {count} 个（“crmdesk check”列出全部）。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Repairing…</source>
        <translation>正在修复…</translation>
    </message>
</context>
<context>
    <name>BoardTab</name>
    <message>
        <location filename="../../crmdesk/views/complaints_page.py" line="+493"/>
        <source>Open</source>
        <translation>待解决</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>All open</source>
        <translation>全部待解决</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>All complaints</source>
        <translation>全部投诉</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>O&amp;verdue only</source>
        <translation>仅逾期(&amp;V)</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>&amp;Status:</source>
        <translation>状态(&amp;S)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ca&amp;tegory:</source>
        <translation>类别(&amp;T)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C&amp;hannel:</source>
        <translation>渠道(&amp;H)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>O&amp;wner:</source>
        <translation>负责人(&amp;W)：</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Recei&amp;ved:</source>
        <translation>收到日期(&amp;V)：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Order:</source>
        <translation>排序(&amp;O)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Next deadline first</source>
        <translation>截止时间最近的在前</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Newest first</source>
        <translation>最新的在前</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;New complaint… (Ctrl+N)</source>
        <translation>新建投诉(&amp;N)…（Ctrl+N）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open (Enter)</source>
        <translation>打开（回车）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Refresh (F5)</source>
        <translation>刷新(&amp;R)（F5）</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Any category</source>
        <translation>全部类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Any channel</source>
        <translation>全部渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Anyone</source>
        <translation>全部人员</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>{count} complaints</source>
        <translation>共 {count} 件投诉</translation>
    </message>
    <message>
        <location line="+140"/>
        <source>Complaint {number} logged.</source>
        <translation>投诉 {number} 已登记。</translation>
    </message>
</context>
<context>
    <name>BonusRuleDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_settings_tab.py" line="+51"/>
        <source>New top-up bonus</source>
        <translation>新建充值赠送</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>e.g. 200</source>
        <translation>例如 200</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>e.g. 20</source>
        <translation>例如 20</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>from now</source>
        <translation>即日起</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>no end</source>
        <translation>无截止日期</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Every tier</source>
        <translation>全部等级</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Top-up of at least (¥):</source>
        <translation>充值满（¥）(&amp;T)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Bonus (¥):</source>
        <translation>赠送金额（¥）(&amp;B)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;From:</source>
        <translation>开始日期(&amp;F)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Until:</source>
        <translation>结束日期(&amp;U)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ti&amp;er:</source>
        <translation>等级(&amp;E)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Add (Enter)</source>
        <translation>添加（回车）</translation>
    </message>
</context>
<context>
    <name>CardDialog</name>
    <message>
        <location filename="../../crmdesk/views/counter_page.py" line="+158"/>
        <source>Issue a card to {name}</source>
        <translation>给{name}发卡</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Replace card {number} of {name}</source>
        <translation>为{name}换卡（原卡 {number}）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Scan the blank card. To give a new number instead, leave the field empty and press Enter.</source>
        <translation>请扫描空白卡。若要使用系统生成的新卡号，留空并按回车。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The card {number} stops working at once.</source>
        <translation>卡 {number} 将立即停用。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>card number (scan)</source>
        <translation>卡号（扫描）</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Issue card (Enter)</source>
        <translation>发卡（回车）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Replace card (Enter)</source>
        <translation>换卡（回车）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel (Esc)</source>
        <translation>取消（Esc）</translation>
    </message>
</context>
<context>
    <name>CashOutDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="+208"/>
        <source>Pay out the stored value of {name}</source>
        <translation>退还{name}的储值</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{principal} is paid back to the member; the bonus of {bonus} is forfeited. The member signs the slip.</source>
        <translation>退还会员本金 {principal}，赠送金额 {bonus} 作废。请会员在凭条上签字。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>optional, e.g. moving away</source>
        <translation>可不填，例如搬家</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid back &amp;by:</source>
        <translation>退款方式(&amp;B)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pay out (Enter)</source>
        <translation>退卡退款（回车）</translation>
    </message>
</context>
<context>
    <name>CategoryDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_settings.py" line="+80"/>
        <source>Change category</source>
        <translation>修改类别</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>New category</source>
        <translation>新建类别</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>the same day</source>
        <translation>当天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> days after it came in</source>
        <translation> 天（自收到之日起）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Name:</source>
        <translation>名称(&amp;N)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Resolve by the end of:</source>
        <translation>解决期限(&amp;R)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Default &amp;priority:</source>
        <translation>默认优先级(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Deadlines and priority apply to complaints logged from now on. Members of the higher tiers get one priority step more.</source>
        <translation>解决期限和优先级只对今后登记的投诉生效。较高等级的会员，优先级会自动提高一级。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>CloseWithoutFollowUpDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="+183"/>
        <source>Close without follow-up</source>
        <translation>不回访直接结案</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>C&amp;lose complaint</source>
        <translation>结案(&amp;L)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This complaint has had no follow-up. Say why it is closed without one; the reason is kept on the timeline.</source>
        <translation>此投诉尚未回访。请说明不回访就结案的原因，原因会记入处理记录。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>e.g. customer cannot be reached, asked not to be called</source>
        <translation>例如：联系不上顾客，顾客要求不要来电</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
</context>
<context>
    <name>CollectionNoteDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="+147"/>
        <source>Collection note for {name}</source>
        <translation>{name}的催收记录</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Owes {owed}.</source>
        <translation>欠款 {owed}。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>What was said</source>
        <translation>沟通内容</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Promised to pay</source>
        <translation>承诺还款</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>optional</source>
        <translation>可不填</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;How:</source>
        <translation>方式(&amp;H)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;What was said:</source>
        <translation>沟通内容(&amp;W)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;By:</source>
        <translation>承诺还款日(&amp;B)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A&amp;mount (¥):</source>
        <translation>承诺金额（¥）(&amp;M)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Save (Ctrl+Enter)</source>
        <translation>保存（Ctrl+Enter）</translation>
    </message>
</context>
<context>
    <name>ColumnsDialog</name>
    <message>
        <location filename="../../crmdesk/views/member_list.py" line="+286"/>
        <source>Columns</source>
        <translation>显示列</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Show these columns:</source>
        <translation>显示以下列：</translation>
    </message>
</context>
<context>
    <name>ComplaintDetailDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="-354"/>
        <source>{name} (walk-in)</source>
        <translation>{name}（散客）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Walk-in customer</source>
        <translation>散客</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Nobody yet</source>
        <translation>暂无</translation>
    </message>
    <message>
        <location line="+402"/>
        <source>Complaint {number}</source>
        <translation>投诉 {number}</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>&amp;Timeline</source>
        <translation>时间线(&amp;T)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;medies and follow-ups</source>
        <translation>补救措施与回访(&amp;M)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Atta&amp;chments</source>
        <translation>附件(&amp;C)</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>&amp;Member…</source>
        <translation>会员(&amp;M)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Open the member&apos;s profile</source>
        <translation>打开会员资料</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Customer:</source>
        <translation>顾客：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Phone:</source>
        <translation>电话：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Category:</source>
        <translation>类别：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Channel:</source>
        <translation>渠道：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Owner:</source>
        <translation>负责人：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Received:</source>
        <translation>受理时间：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>First response:</source>
        <translation>首次响应：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Resolve by:</source>
        <translation>解决期限：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Receipt:</source>
        <translation>小票：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What the customer says</source>
        <translation>顾客陈述</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>What the customer asks for</source>
        <translation>顾客诉求</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+10"/>
        <location line="+6"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="-16"/>
        <location line="+10"/>
        <location line="+6"/>
        <source>Who</source>
        <translation>操作人</translation>
    </message>
    <message>
        <location line="-16"/>
        <source>What</source>
        <translation>操作</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+11"/>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Remedies</source>
        <translation>补救措施</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What was done</source>
        <translation>处理内容</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Refund</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Goodwill</source>
        <translation>补偿积分</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Coupon</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Customer told</source>
        <translation>已告知顾客</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Follow-ups</source>
        <translation>回访</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>How</source>
        <translation>方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Satisfaction</source>
        <translation>满意度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Comment</source>
        <translation>评价</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>&amp;Open</source>
        <translation>打开(&amp;O)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Save as…</source>
        <translation>另存为(&amp;S)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A&amp;dd photo or scan…</source>
        <translation>添加照片或扫描件(&amp;D)…</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Assign…</source>
        <translation>指派(&amp;A)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Start work</source>
        <translation>开始处理(&amp;S)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add &amp;note…</source>
        <translation>添加备注(&amp;N)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Priority…</source>
        <translation>优先级(&amp;P)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Resolve…</source>
        <translation>解决(&amp;R)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Follow-up…</source>
        <translation>回访(&amp;F)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+154"/>
        <source>C&amp;lose complaint</source>
        <translation>结案(&amp;L)</translation>
    </message>
    <message>
        <location line="-152"/>
        <source>R&amp;eopen…</source>
        <translation>重新打开(&amp;E)…</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Close window (Esc)</source>
        <translation>关闭窗口（Esc）</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Complaint {number} — {customer}</source>
        <translation>投诉 {number} — {customer}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Priority: {priority}</source>
        <translation>优先级：{priority}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>! Overdue: no first response</source>
        <translation>! 逾期：尚未首次响应</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>! Overdue</source>
        <translation>! 逾期</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name} (member {number})</source>
        <translation>{name}（会员 {number}）</translation>
    </message>
    <message>
        <location line="+11"/>
        <source> (linked to the member&apos;s purchase)</source>
        <translation>（已关联该会员的购物记录）</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>no</source>
        <translation>否</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{name}   {size}   added {when} by {who}</source>
        <translation>{name}   {size}   由 {who} 于 {when} 添加</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Atta&amp;chments ({count})</source>
        <translation>附件(&amp;C)（{count}）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>answered {when} (due {due})</source>
        <translation>已于 {when} 响应（截止 {due}）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>due {due} — late, no answer yet</source>
        <translation>截止 {due} — 已超时，尚未响应</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>due {due}</source>
        <translation>截止 {due}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>end of {day}; resolved {when}</source>
        <translation>{day} 当日内；已于 {when} 解决</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>end of {day} — overdue</source>
        <translation>{day} 当日内 — 已逾期</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>end of {day}</source>
        <translation>{day} 当日内</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; closed {when}</source>
        <translation>；已于 {when} 结案</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>C&amp;lose without follow-up…</source>
        <translation>不回访直接结案(&amp;L)…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{owner} owns this complaint; only they or a supervisor can work it.</source>
        <translation>此投诉的负责人是 {owner}，只有负责人或主管可以处理。</translation>
    </message>
    <message>
        <location line="+148"/>
        <source>The attachment could not be written to a temporary file: {error}</source>
        <translation>无法将附件写入临时文件：{error}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No program on this computer opens {name}; use Save as… instead.</source>
        <translation>本机没有可以打开 {name} 的程序，请改用“另存为…”。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The file could not be saved: {error}</source>
        <translation>无法保存文件：{error}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Save attachment</source>
        <translation>保存附件</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>The file could not be read: {error}</source>
        <translation>无法读取文件：{error}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Add photo or scan</source>
        <translation>添加照片或扫描件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Photos and PDF scans ({patterns})</source>
        <translation>照片和 PDF 扫描件 ({patterns})</translation>
    </message>
</context>
<context>
    <name>ComplaintFormDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_form.py" line="+102"/>
        <source>Log complaint</source>
        <translation>登记投诉</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Enter moves to the next field, Tab leaves the description, Ctrl+Enter saves, Esc cancels.</source>
        <translation>按回车跳到下一栏，按 Tab 离开描述栏，按 Ctrl+Enter 保存，按 Esc 取消。</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Member:</source>
        <translation>会员：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>optional, e.g. 李女士</source>
        <translation>选填，例如：李女士</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>optional, e.g. 138 0013 8000</source>
        <translation>选填，例如：138 0013 8000</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer &amp;name:</source>
        <translation>顾客姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>P&amp;hone:</source>
        <translation>电话(&amp;H)：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>C&amp;hannel:</source>
        <translation>渠道(&amp;H)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Category:</source>
        <translation>类别(&amp;C)：</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Priority:</source>
        <translation>优先级(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Received:</source>
        <translation>受理时间(&amp;R)：</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>optional: pick a recent purchase or type the receipt number</source>
        <translation>选填：选择近期购物记录或输入小票号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>optional: type the receipt number</source>
        <translation>选填：输入小票号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Related r&amp;eceipt:</source>
        <translation>相关小票(&amp;E)：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>What happened? e.g. the pork ribs bought this morning smell off</source>
        <translation>发生了什么？例如：今天早上买的排骨有异味</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Description (required):</source>
        <translation>描述(&amp;D)（必填）：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>optional, e.g. a refund, an exchange, an apology</source>
        <translation>选填，例如：退款、换货、道歉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer &amp;asks for:</source>
        <translation>顾客诉求(&amp;A)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Attachments (photos or PDF scans, at most {size} MB each):</source>
        <translation>附件（照片或 PDF 扫描件，每个不超过 {size} MB）：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Add files… (Ctrl+O)</source>
        <translation>添加文件…（Ctrl+O）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove (Del)</source>
        <translation>移除（Del）</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Save (Ctrl+Enter)</source>
        <translation>保存（Ctrl+Enter）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel (Esc)</source>
        <translation>取消（Esc）</translation>
    </message>
    <message>
        <location line="+124"/>
        <source>Attach photos or scans</source>
        <translation>附加照片或扫描件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Photos and PDF scans ({patterns})</source>
        <translation>照片和 PDF 扫描件 ({patterns})</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>The file &apos;{name}&apos; cannot be read: {reason}</source>
        <translation>无法读取文件“{name}”：{reason}</translation>
    </message>
</context>
<context>
    <name>ComplaintListModel</name>
    <message>
        <location filename="../../crmdesk/views/complaints_page.py" line="-696"/>
        <source>No.</source>
        <translation>编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Received</source>
        <translation>收到时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer</source>
        <translation>顾客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Channel</source>
        <translation>渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owner</source>
        <translation>负责人</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolve by</source>
        <translation>解决期限</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <location line="+171"/>
        <source>! no reply</source>
        <translation>！未响应</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>! overdue</source>
        <translation>！已逾期</translation>
    </message>
    <message>
        <location line="+101"/>
        <source>First response due {response}; resolve by the end of {day}</source>
        <translation>首次响应期限 {response}；须在 {day} 当日内解决</translation>
    </message>
</context>
<context>
    <name>ComplaintSettingsWidget</name>
    <message>
        <location filename="../../crmdesk/views/complaint_settings.py" line="+122"/>
        <source>Lists are never emptied: an entry no longer wanted is switched off and stays on the complaints and surveys that use it.</source>
        <translation>列表中的条目不会被删除：不再需要的条目可以停用，已使用它的投诉和满意度调查仍会保留该条目。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Channels complaints come in by</source>
        <translation>投诉渠道</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Survey questions</source>
        <translation>满意度调查问题</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Complaint categories</source>
        <translation>投诉类别</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Code</source>
        <translation>代码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Resolve within</source>
        <translation>解决期限</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Default priority</source>
        <translation>默认优先级</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Add category…</source>
        <translation>添加类别(&amp;A)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Change…</source>
        <translation>修改(&amp;C)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+89"/>
        <source>Switch off</source>
        <translation>停用</translation>
    </message>
    <message>
        <location line="-80"/>
        <source>Deadlines and alerts</source>
        <translation>期限与提醒</translation>
    </message>
    <message>
        <location line="+5"/>
        <source> hours after it came in</source>
        <translation> 小时（自收到时起）</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+12"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>First response due:</source>
        <translation>首次响应期限：</translation>
    </message>
    <message>
        <location line="+6"/>
        <source> points</source>
        <translation> 分</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Survey alert:</source>
        <translation>满意度提醒：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A survey question is flagged when its monthly mean drops by more than this from the month before.</source>
        <translation>某项调查问题的月平均分比上月下降超过此值时，将标记提醒。</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>same day</source>
        <translation>当天</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>1 day</source>
        <translation>1 天</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{days} days</source>
        <translation>{days} 天</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>in use</source>
        <translation>已启用</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>switched off</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Switch on</source>
        <translation>启用</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Added {name}.</source>
        <translation>已添加{name}。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Saved. New deadlines apply to complaints logged from now on.</source>
        <translation>已保存。新的期限只对今后登记的投诉生效。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Switched on.</source>
        <translation>已启用。</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Switched off; records that use it keep it.</source>
        <translation>已停用；已使用它的记录仍会保留。</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Saved: the first response is due {hours} hours after a complaint comes in (for new ones).</source>
        <translation>已保存：新投诉的首次响应期限为收到后 {hours} 小时。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Saved: a question is flagged when its mean drops by more than {points} points.</source>
        <translation>已保存：某项问题的平均分下降超过 {points} 分时将标记提醒。</translation>
    </message>
</context>
<context>
    <name>ComplaintsPage</name>
    <message>
        <location filename="../../crmdesk/views/complaints_page.py" line="-217"/>
        <source>{month} (so far)</source>
        <translation>{month}（截至目前）</translation>
    </message>
    <message>
        <location line="+987"/>
        <source>&amp;Board</source>
        <translation>投诉看板(&amp;B)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Monthly &amp;figures</source>
        <translation>月度统计(&amp;F)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisf&amp;action</source>
        <translation>满意度(&amp;A)</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
</context>
<context>
    <name>ComputerTab</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="+100"/>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>e.g. 01 or Front desk</source>
        <translation>例如 01 或 前台</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Goes on every purchase recorded on this computer; receipt numbers are unique per till.</source>
        <translation>本机记录的每笔消费都记在这个收银台名下；小票号在每个收银台内唯一。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Till of this computer:</source>
        <translation>本机收银台(&amp;T)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>empty: slips open in a preview for the system printer</source>
        <translation>留空：凭条在预览中打开，用系统打印机打印</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>An ESC/POS receipt printer: usb:0416:5011, serial:COM3, tcp:192.168.1.50:9100 or file:/dev/usb/lp0</source>
        <translation>ESC/POS 小票打印机：usb:0416:5011、serial:COM3、tcp:192.168.1.50:9100 或 file:/dev/usb/lp0</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Receipt printer:</source>
        <translation>小票打印机(&amp;R)：</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{width} mm</source>
        <translation>{width} 毫米</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Receipt &amp;roll:</source>
        <translation>小票纸卷(&amp;R)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>POS &amp;hand-off folder:</source>
        <translation>POS 交接文件夹(&amp;H)：</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Database:</source>
        <translation>数据库：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Data folder:</source>
        <translation>数据文件夹：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Apply (Ctrl+S)</source>
        <translation>应用(&amp;A)（Ctrl+S）</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Connect to ser&amp;ver…</source>
        <translation>连接服务器(&amp;V)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Share one shop&apos;s data between several tills on a PostgreSQL server.</source>
        <translation>让多台收银机通过 PostgreSQL 服务器共用一家店的数据。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>none: receipts are imported by hand</source>
        <translation>未设置：小票需手动导入</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Choose…</source>
        <translation>选择(&amp;C)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sto&amp;p</source>
        <translation>停用(&amp;P)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>L&amp;og…</source>
        <translation>记录(&amp;O)…</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Only a supervisor or the owner can choose the hand-off folder.</source>
        <translation>只有主管或店主可以设置交接文件夹。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Receipt files (CSV or Excel) the till program saves there are imported as they appear, as {name}; they then move to done/ or, with the rows that could not be imported, to rejected/.</source>
        <translation>收银软件保存到该文件夹的小票文件（CSV 或 Excel）一出现就以{name}的身份导入；导入后移到 done/，有无法导入的行时移到 rejected/ 并附上这些行。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the owner</source>
        <translation>店主</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Choose the folder the till program saves its receipt exports to (CSV or Excel): crmdesk imports each new file while it is open on this computer.</source>
        <translation>选择收银软件导出小票（CSV 或 Excel）的文件夹：本机打开 crmdesk 时，每个新文件都会自动导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>POS hand-off folder</source>
        <translation>POS 交接文件夹</translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+28"/>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
</context>
<context>
    <name>ConnectServerDialog</name>
    <message>
        <location filename="../../crmdesk/views/server_dialog.py" line="+28"/>
        <source>Connect to the shop&apos;s server</source>
        <translation>连接本店服务器</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Several tills can share one shop&apos;s data on a PostgreSQL server. On the server PC, &apos;crmdesk server setup&apos; prints a line for the tills: paste it here, or fill in the fields.</source>
        <translation>多台收银机可以通过 PostgreSQL 服务器共用一家店的数据。在服务器电脑上运行“crmdesk server setup”，它会给出一行连接信息：把它粘贴到这里，或逐项填写。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Line from the server PC:</source>
        <translation>服务器给出的连接行(&amp;L)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the server PC&apos;s name or address, e.g. shop-pc or 192.168.1.10</source>
        <translation>服务器电脑的名称或地址，例如 shop-pc 或 192.168.1.10</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Server:</source>
        <translation>服务器(&amp;S)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Port:</source>
        <translation>端口(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Database:</source>
        <translation>数据库(&amp;D)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;User:</source>
        <translation>用户名(&amp;U)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Pass&amp;word:</source>
        <translation>密码(&amp;W)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>e.g. 01 or Front desk</source>
        <translation>例如 01 或 前台</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Goes on every receipt recorded on this computer; every till of the shop needs its own name.</source>
        <translation>本机记录的每张小票都会带上它；店里每台收银机的名称都要不同。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>T&amp;ill of this computer:</source>
        <translation>本机收银台(&amp;I)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Now: {where}</source>
        <translation>当前：{where}</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Test</source>
        <translation>测试连接(&amp;T)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Use this computer&apos;s &amp;own file</source>
        <translation>改用本机数据文件(&amp;O)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Work on the database file on this computer again, from the next start.</source>
        <translation>下次启动起，重新使用本机上的数据文件。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Connect</source>
        <translation>连接(&amp;C)</translation>
    </message>
    <message>
        <location line="+53"/>
        <source>Connecting to {host} …</source>
        <translation>正在连接 {host} …</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Connected in {ms} ms: {store} with {members} members (PostgreSQL {version}).</source>
        <translation>已连接，用时 {ms} 毫秒：{store}，共 {members} 位会员（PostgreSQL {version}）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a store</source>
        <translation>一家店</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server&apos;s data is from an older crmdesk: it is upgraded when crmdesk opens it here; update the other tills too.</source>
        <translation>服务器上的数据来自较旧版本的 crmdesk：本机打开时会将其升级；请同时更新其他收银机。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No owner is set up there yet: crmdesk asks for one when it opens the server.</source>
        <translation>服务器上还没有设置店主：crmdesk 打开服务器时会要求设置。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This computer works on the server from the next start: close crmdesk and open it again.</source>
        <translation>本机将从下次启动起使用服务器：请关闭 crmdesk 后重新打开。</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>This computer works on its own database file from the next start: close crmdesk and open it again.</source>
        <translation>本机将从下次启动起使用自己的数据文件：请关闭 crmdesk 后重新打开。</translation>
    </message>
</context>
<context>
    <name>CounterPage</name>
    <message>
        <location filename="../../crmdesk/views/counter_page.py" line="+76"/>
        <source>Scan a card, or type a phone, its last 4 digits, a name or pinyin (zs)</source>
        <translation>扫卡，或输入手机号、手机尾号4位、姓名或拼音首字母（zs）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Looking it up…</source>
        <translation>正在查找…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Clear (Esc)</source>
        <translation>清空（Esc）</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Card</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+99"/>
        <source>Points</source>
        <translation>积分</translation>
    </message>
    <message>
        <location line="-99"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+44"/>
        <location line="+219"/>
        <location line="+365"/>
        <source>Scan a card or type to find a member. F2 registers a new member.</source>
        <translation>扫卡或输入以查找会员。按 F2 登记新会员。</translation>
    </message>
    <message>
        <location line="-562"/>
        <source>No member open.</source>
        <translation>尚未打开会员。</translation>
    </message>
    <message>
        <location line="+83"/>
        <source>Last visits</source>
        <translation>最近消费</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Till</source>
        <translation>收银台</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="+10"/>
        <location line="+407"/>
        <source>No visits yet.</source>
        <translation>暂无消费记录。</translation>
    </message>
    <message>
        <location line="-384"/>
        <source>New member (F2)</source>
        <translation>新会员（F2）</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+416"/>
        <source>Issue card (F3)</source>
        <translation>发卡（F3）</translation>
    </message>
    <message>
        <location line="-415"/>
        <source>Report card lost… (F4)</source>
        <translation>挂失…（F4）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Record purchase (F5)</source>
        <translation>记录消费（F5）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund… (F6)</source>
        <translation>退款…（F6）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Redeem points… (F7)</source>
        <translation>兑换积分…（F7）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Log complaint… (F8)</source>
        <translation>登记投诉…（F8）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisfaction survey… (F9)</source>
        <translation>满意度调查…（F9）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Top up… (F10)</source>
        <translation>充值…（F10）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repayment… (F11)</source>
        <translation>还款…（F11）</translation>
    </message>
    <message>
        <location line="+94"/>
        <source>Ask for the member&apos;s phone number to find them; F3 then gives them a new card.</source>
        <translation>请询问会员手机号以查找会员；然后按 F3 为其发新卡。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Card {number} belongs to nobody yet: press F2 to register a new member with it.</source>
        <translation>卡 {number} 尚未发出：按 F2 用这张卡登记新会员。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nobody found for “{query}”. Press F2 to register a new member.</source>
        <translation>没有找到“{query}”。按 F2 登记新会员。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>One match: press Enter to open it.</source>
        <translation>找到 1 位：按回车打开。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{count} matches: choose with ↑ ↓ and press Enter.</source>
        <translation>找到 {count} 位：用 ↑ ↓ 选择后按回车。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Card {number} was reported LOST on {date}. Do not accept it: it no longer opens any member.</source>
        <translation>卡 {number} 已于 {date} 挂失。请勿受理：此卡不再对应任何会员。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card {number} was REPLACED on {date} and no longer works. Ask for the new card or the phone number.</source>
        <translation>卡 {number} 已于 {date} 换卡，不能再用。请出示新卡或告知手机号。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card {number} was CLOSED on {date} and no longer works.</source>
        <translation>卡 {number} 已于 {date} 注销，不能再用。</translation>
    </message>
    <message>
        <location line="+93"/>
        <source>The server cannot be reached: this till works offline. Members come from this computer&apos;s copy ({time}); sales are kept here ({waiting} waiting) and sent when the server is back. Stored value, credit, points and refunds wait for the server.</source>
        <translation>连不上服务器：本收银台正在离线工作。会员资料来自本机副本（{time}）；消费先存在本机（{waiting} 笔待补录），服务器恢复后自动补录。储值、赊账、积分兑换和退款需等服务器恢复。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>none yet</source>
        <translation>尚无</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The server is back: {sent} sales taken offline were recorded there.</source>
        <translation>服务器已恢复：离线期间的 {sent} 笔消费已补录到服务器。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{count} were refused: {details}</source>
        <translation>{count} 笔被拒绝：{details}</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Stored value {amount}</source>
        <translation>储值余额 {amount}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Credit stopped; owes {owed}</source>
        <translation>已停止赊账；欠款 {owed}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>On credit: owes {owed}, {available} left</source>
        <translation>赊账：欠款 {owed}，剩余额度 {available}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>FROZEN: no offers or points redemption; a purchase needs a supervisor&apos;s approval (F5).</source>
        <translation>已冻结：不能使用优惠或兑换积分；记录消费须由主管批准（F5）。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{amount} overdue on credit, the oldest by {days} days: remind the member (F11 repays).</source>
        <translation>赊账逾期 {amount}，最长逾期 {days} 天：请提醒会员还款（F11 还款）。</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Recent purchases are on the server; they show when it is back.</source>
        <translation>最近消费记录在服务器上，恢复连接后显示。</translation>
    </message>
    <message>
        <location line="+21"/>
        <location line="+2"/>
        <source>Churn alert: {reason}</source>
        <translation>流失预警：{reason}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{stage}: last visit {days} days ago</source>
        <translation>{stage}：上次到店在 {days} 天前</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Coming less than usual: a friendly word may bring them back.</source>
        <translation>来得比平时少：打声招呼，也许就能留住这位顾客。</translation>
    </message>
    <message>
        <location line="+160"/>
        <source>Sale {amount} kept on this till (receipt {receipt}): the server is away; it is recorded there, with its points, as soon as it is back.</source>
        <translation>消费 {amount} 已暂存在本收银台（小票 {receipt}）：服务器暂时连不上，恢复后会连同积分一起补录。</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Purchase {amount} recorded (receipt {receipt}): +{points} points, {balance} points now.</source>
        <translation>已记录消费 {amount}（小票 {receipt}）：积分 +{points}，现有积分 {balance}。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{part} from the wallet; it holds {total}.</source>
        <translation>储值支付 {part}，储值余额 {total}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{part} on credit; owes {owed}.</source>
        <translation>赊账 {part}，现欠款 {owed}。</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Refund recorded: {points} points taken back, {balance} points now.</source>
        <translation>已记录退款：扣回积分 {points}，现有积分 {balance}。</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Redeemed {points} points ({value} off); {balance} points left.</source>
        <translation>已兑换 {points} 积分（抵扣 {value}）；剩余积分 {balance}。</translation>
    </message>
    <message>
        <location line="-413"/>
        <source>Member open. Scan or type to find the next one; Esc clears.</source>
        <translation>已打开会员。扫卡或输入查找下一位；Esc 清空。</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Member discount {percent} %</source>
        <translation>会员折扣 {percent}%</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Birthday this month ({date})</source>
        <translation>本月生日（{date}）</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>CLOSED membership.</source>
        <translation>会员已注销。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Card {number} was reported lost on {date}.</source>
        <translation>卡 {number} 已于 {date} 挂失。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Card: {number}</source>
        <translation>卡号：{number}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No working card.</source>
        <translation>没有可用的卡。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No card yet: F3 issues one.</source>
        <translation>尚未发卡：按 F3 发卡。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Visits: {visits} · Spend: {spend} · Average basket: {average}</source>
        <translation>消费次数：{visits} · 累计消费：{spend} · 客单价：{average}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Open complaints: {count}</source>
        <translation>未结投诉：{count}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{points} points expire on {date}</source>
        <translation>{points} 积分将于 {date} 过期</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Replace card… (F3)</source>
        <translation>换卡…（F3）</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Registered {name} as {member_no}.</source>
        <translation>已登记{name}，会员编号 {member_no}。</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Card {number} now works for {name}.</source>
        <translation>卡 {number} 已可供{name}使用。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Report card lost</source>
        <translation>挂失</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Report card {number} of {name} as lost? It stops working at once; scanning it later shows a warning.</source>
        <translation>挂失{name}的卡 {number}？挂失后立即停用，以后扫描此卡会显示警告。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Report lost (Enter)</source>
        <translation>挂失（回车）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel (Esc)</source>
        <translation>取消（Esc）</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Card {number} is reported lost. F3 gives the member a new card.</source>
        <translation>卡 {number} 已挂失。按 F3 为会员发新卡。</translation>
    </message>
    <message>
        <location line="+72"/>
        <source>Receipt {receipt} of till {till} was already recorded; nothing changed.</source>
        <translation>收银台{till}的小票{receipt}已记录过，未做任何更改。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Upgraded to {tier}!</source>
        <translation>已升级为{tier}！</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>That refund was already recorded; nothing changed.</source>
        <translation>这笔退款已记录过，未做任何更改。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Topped up {amount}; the wallet holds {total}.</source>
        <translation>已充值 {amount}，储值余额 {total}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Bonus {bonus} ({rule}).</source>
        <translation>赠送 {bonus}（{rule}）。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Repayment of {amount} recorded; still owes {owed}.</source>
        <translation>已记录还款 {amount}，尚欠 {owed}。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Ctrl+P prints the IOU for the member to sign.</source>
        <translation>按 Ctrl+P 打印赊账单，请会员签字。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ctrl+P prints the receipt.</source>
        <translation>按 Ctrl+P 打印小票。</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Complaint {number} logged; the Complaints area follows it to closure.</source>
        <translation>投诉 {number} 已登记，后续由“投诉”模块跟进至结案。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Thank you: the survey is recorded.</source>
        <translation>谢谢！满意度调查已记录。</translation>
    </message>
</context>
<context>
    <name>CouponsDialog</name>
    <message>
        <location filename="../../crmdesk/views/offers_page.py" line="+583"/>
        <source>Coupons</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Card, member number or phone; empty: anyone</source>
        <translation>卡号、会员编号或手机号；留空则所有会员可用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Number of coupons:</source>
        <translation>优惠券数量(&amp;N)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For &amp;member:</source>
        <translation>指定会员(&amp;M)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Batch label:</source>
        <translation>批次名称(&amp;B)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Generate</source>
        <translation>生成(&amp;G)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Copy codes</source>
        <translation>复制券码(&amp;C)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>CreditFreezeDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="-46"/>
        <source>Stop credit of {name}</source>
        <translation>停止{name}的赊账</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No new credit until it is allowed again; repayments go on.</source>
        <translation>恢复赊账之前不能再赊账；还款照常进行。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allow new credit again, within the limit.</source>
        <translation>恢复赊账，可在赊账额度内再次赊账。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>required</source>
        <translation>必填</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>optional</source>
        <translation>可不填</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Stop credit (Enter)</source>
        <translation>停止赊账（回车）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Allow credit (Enter)</source>
        <translation>恢复赊账（回车）</translation>
    </message>
</context>
<context>
    <name>CreditLimitDialog</name>
    <message>
        <location line="-48"/>
        <source>Credit of {name}</source>
        <translation>{name}的赊账额度</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Suggested: {limit} for {days} days.</source>
        <translation>建议：额度 {limit}，还款期限 {days} 天。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source> days</source>
        <translation> 天</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>optional, e.g. a regular for ten years</source>
        <translation>可不填，例如十年老顾客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Limit (¥):</source>
        <translation>赊账额度（¥）(&amp;L)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Due within:</source>
        <translation>还款期限(&amp;D)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save (Enter)</source>
        <translation>保存（回车）</translation>
    </message>
</context>
<context>
    <name>CreditTab</name>
    <message>
        <location filename="../../crmdesk/views/money_tabs.py" line="+195"/>
        <source>&amp;Limit…</source>
        <translation>赊账额度(&amp;L)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+82"/>
        <source>&amp;Stop credit…</source>
        <translation>停止赊账(&amp;S)…</translation>
    </message>
    <message>
        <location line="-81"/>
        <source>&amp;Repayment…</source>
        <translation>还款(&amp;R)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Collection &amp;note…</source>
        <translation>催收记录(&amp;N)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Write off…</source>
        <translation>坏账核销(&amp;W)…</translation>
    </message>
    <message>
        <location line="+9"/>
        <location line="+9"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+9"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Due</source>
        <translation>到期日</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Still owed</source>
        <translation>未还金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Paid by</source>
        <translation>支付方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+9"/>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Collection log</source>
        <translation>催收记录</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>How</source>
        <translation>方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Promised by</source>
        <translation>承诺还款日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>What was said</source>
        <translation>沟通内容</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Print &amp;IOU</source>
        <translation>打印赊账单(&amp;I)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>S&amp;tatement…</source>
        <translation>对账单(&amp;T)…</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Statement of account — {name}</source>
        <translation>对账单 — {name}</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Limit {limit}, due within {days} days; owes {owed}, {available} left.</source>
        <translation>赊账额度 {limit}，还款期限 {days} 天；欠款 {owed}，剩余额度 {available}。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Credit is stopped: {reason}</source>
        <translation>已停止赊账：{reason}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No credit granted.</source>
        <translation>未开通赊账。</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Owes {owed}.</source>
        <translation>欠款 {owed}。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Allow credit again…</source>
        <translation>恢复赊账(&amp;A)…</translation>
    </message>
</context>
<context>
    <name>DashboardPage</name>
    <message>
        <location filename="../../crmdesk/views/dashboard_page.py" line="+93"/>
        <source>Save as group…</source>
        <translation>存为会员分组…</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Sales</source>
        <translation>销售额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Receipts</source>
        <translation>小票数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Average basket</source>
        <translation>客单价</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member visits</source>
        <translation>会员到店</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+156"/>
        <source>New members</source>
        <translation>新会员</translation>
    </message>
    <message>
        <location line="-155"/>
        <source>Held and owed</source>
        <translation>储值与欠款</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Sales, this year and last</source>
        <translation>销售额：今年与去年同期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member visits, this year and last</source>
        <translation>会员到店：今年与去年同期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>RFM segments: members and share of spend</source>
        <translation>RFM 分群：人数与消费占比</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ABC classes: share of members and of spend</source>
        <translation>ABC 分类：人数占比与消费占比</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lifecycle stages</source>
        <translation>生命周期阶段</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tier mix (active members)</source>
        <translation>等级构成（正常会员）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New members and lapsed</source>
        <translation>新增会员与沉睡会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Average basket and visits per day</source>
        <translation>客单价与日均到店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points issued and redeemed</source>
        <translation>积分发放与兑换</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisfaction (1-5)</source>
        <translation>满意度（1-5 分）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Complaints by category</source>
        <translation>投诉类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Churn alerts</source>
        <translation>流失预警</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Last 30 days</source>
        <translation>近 30 天</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>This month</source>
        <translation>本月</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last 12 months</source>
        <translation>近 12 个月</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+101"/>
        <source>This year</source>
        <translation>今年</translation>
    </message>
    <message>
        <location line="-101"/>
        <source>Custom</source>
        <translation>自定义</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>By day</source>
        <translation>按日</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>By week</source>
        <translation>按周</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>By month</source>
        <translation>按月</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Refresh figures</source>
        <translation>刷新数据(&amp;R)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Export charts…</source>
        <translation>导出图表…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Loyalty summary…</source>
        <translation>积分汇总(&amp;L)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Monthly re&amp;view…</source>
        <translation>经营月报(&amp;V)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The business review of the month the range ends in, with its charts, as a PDF</source>
        <translation>所选日期范围结束月份的经营月报（含图表），生成 PDF</translation>
    </message>
    <message>
        <location line="+62"/>
        <source>No customer figures yet: press Refresh figures (it runs in the background).</source>
        <translation>还没有客户分析数据：请点“刷新数据”（在后台运行）。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Customer figures as of {day} ({members} members who bought; window {months} months).</source>
        <translation>客户分析截至 {day}（有消费会员 {members} 人；统计窗口 {months} 个月）。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>This year (¥)</source>
        <translation>今年（元）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last year (¥)</source>
        <translation>去年同期（元）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Last year</source>
        <translation>去年同期</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Lapsed now: {lapsed}; lost: {lost}</source>
        <translation>当前沉睡：{lapsed}；已流失：{lost}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Issued</source>
        <translation>发放</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Redeemed</source>
        <translation>兑换</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location line="+136"/>
        <source>{label} {share:.0%}</source>
        <translation>{label} {share:.0%}</translation>
    </message>
    <message>
        <location line="+176"/>
        <source>Monthly business review</source>
        <translation>经营月报</translation>
    </message>
    <message>
        <location line="-291"/>
        <source>last year: none</source>
        <translation>去年同期：无</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{change:+.1%} on last year</source>
        <translation>较去年同期 {change:+.1%}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>member receipts</source>
        <translation>会员小票</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>per receipt, after refunds</source>
        <translation>每张小票，已扣退款</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>joined in the range</source>
        <translation>期间内入会</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>stored value; owed {owed}</source>
        <translation>储值余额；欠款 {owed}</translation>
    </message>
    <message>
        <location line="+76"/>
        <source>Members</source>
        <translation>人数</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Share of members (%)</source>
        <translation>人数占比（%）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Share of spend (%)</source>
        <translation>消费占比（%）</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Average basket (¥)</source>
        <translation>客单价（元）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visits per day</source>
        <translation>日均到店</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Average score</source>
        <translation>平均分</translation>
    </message>
    <message>
        <location line="+34"/>
        <location line="+3"/>
        <source>Save as member group</source>
        <translation>存为会员分组</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>Group:</source>
        <translation>分组：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Name of the member group:</source>
        <translation>会员分组名称：</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Saved the member group {name}: offers can target it, the member list prints and exports it.</source>
        <translation>已保存会员分组“{name}”：优惠活动可以面向它，会员列表可以打印和导出它。</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>Refresh cancelled; the figures are as they were.</source>
        <translation>已取消刷新，数据保持原样。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Export the charts as PNG to</source>
        <translation>把图表导出为 PNG 到</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Saved {count} charts in {folder}.</source>
        <translation>已把 {count} 张图表保存到 {folder}。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Loyalty summary</source>
        <translation>积分汇总</translation>
    </message>
</context>
<context>
    <name>EligibleOffersWidget</name>
    <message>
        <location filename="../../crmdesk/views/eligible_offers.py" line="+95"/>
        <source>Offers</source>
        <translation>优惠活动</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Basket ¥:</source>
        <translation>本单金额（¥）(&amp;B)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>optional</source>
        <translation>可选</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Offer</source>
        <translation>优惠活动</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>What / why not</source>
        <translation>优惠内容 / 不可用原因</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Offers and coupons wait for the server: they are counted there.</source>
        <translation>优惠和优惠券需等服务器恢复：它们在服务器上计数。</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>{what} — {amount} off</source>
        <translation>{what} — 优惠 {amount}</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Automatic</source>
        <translation>自动生效</translation>
    </message>
    <message>
        <location line="-55"/>
        <source>Apply</source>
        <translation>使用</translation>
    </message>
    <message>
        <location line="+70"/>
        <source>Coupon</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Scan or type the coupon code:</source>
        <translation>请扫描或输入优惠券码：</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>{amount} off</source>
        <translation>优惠 {amount}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>give: {gift}</source>
        <translation>赠送：{gift}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Applied: {what}</source>
        <translation>已使用：{what}</translation>
    </message>
</context>
<context>
    <name>EntryListBox</name>
    <message>
        <location filename="../../crmdesk/views/complaint_settings.py" line="-313"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Code</source>
        <translation>代码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+30"/>
        <source>Switch off</source>
        <translation>停用</translation>
    </message>
    <message>
        <location line="-13"/>
        <source>in use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>switched off</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Switch on</source>
        <translation>启用</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Added {name}.</source>
        <translation>已添加 {name}。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Renamed to {name}.</source>
        <translation>已重命名为 {name}。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Switched on.</source>
        <translation>已启用。</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Switched off; records that use it keep it.</source>
        <translation>已停用；已使用该项的记录保持不变。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>New name:</source>
        <translation>新名称：</translation>
    </message>
</context>
<context>
    <name>EraseMemberDialog</name>
    <message>
        <location filename="../../crmdesk/views/privacy_dialogs.py" line="+85"/>
        <source>Erase personal data</source>
        <translation>删除个人信息</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>The member asked for their personal data to be erased. This cannot be undone; give the member their copy of the data first if they want one.</source>
        <translation>会员要求删除其个人信息。删除后无法恢复；如会员需要，请先为其导出个人信息副本。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Removed</source>
        <translation>将删除</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Name, phone, gender, birthday, address, e-mail, company, notes and tags</source>
        <translation>姓名、手机、性别、生日、地址、邮箱、单位、备注和标签</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Marketing consent, consent to keeping data, the payment PIN</source>
        <translation>营销许可、个人信息保存同意、支付密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>What was written in their complaints and survey answers, and the photos attached</source>
        <translation>投诉和满意度调查中填写的文字，以及附带的照片</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The old values of these fields in the change history; the name and phone in the audit log</source>
        <translation>变更记录中这些项目的原值；操作日志中的姓名和手机号</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Kept, so the shop&apos;s figures stay right</source>
        <translation>保留（保证门店账目准确）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The member number, join date and tier; the cards, stopped</source>
        <translation>会员编号、入会日期和等级；会员卡（停用）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Purchases and receipts; the points, stored-value and credit ledgers</source>
        <translation>消费记录和小票；积分、储值和赊账流水</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Complaints&apos; categories, dates and outcomes; survey scores; coupons and offers used</source>
        <translation>投诉的类别、日期和处理结果；调查评分；优惠券和已使用的优惠</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The membership is closed and listed as “{label}” from now on.</source>
        <translation>会员资格将被注销，今后显示为“{label}”。</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>The member still has {wallet} of stored value and owes {owed}: cash out the stored value and settle or write off the debt first.</source>
        <translation>该会员还有储值余额 {wallet}，并欠款 {owed}：请先退还储值余额，并结清或核销欠款。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The member still has {amount} of stored value: cash out the stored value first.</source>
        <translation>该会员还有储值余额 {amount}：请先退还储值余额。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The member still owes {amount}: settle or write off the debt first.</source>
        <translation>该会员还欠款 {amount}：请先结清或核销欠款。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Type the member&apos;s name to confirm:</source>
        <translation>输入会员姓名以确认：</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>&amp;Erase personal data</source>
        <translation>删除个人信息(&amp;E)</translation>
    </message>
</context>
<context>
    <name>ExportProgress</name>
    <message>
        <location filename="../../crmdesk/views/export_progress.py" line="+24"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Export cancelled; no file was written.</source>
        <translation>导出已取消，未写入任何文件。</translation>
    </message>
</context>
<context>
    <name>FiguresTab</name>
    <message>
        <location filename="../../crmdesk/views/complaints_page.py" line="-1042"/>
        <source>{percent} %</source>
        <translation>{percent}%</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>no cases yet</source>
        <translation>暂无数据</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} of {total}</source>
        <translation>{total} 件中 {count} 件</translation>
    </message>
    <message>
        <location line="+684"/>
        <source>&amp;Month:</source>
        <translation>月份(&amp;M)：</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Print month report…</source>
        <translation>打印月度报告(&amp;P)…</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Complaints received</source>
        <translation>受理投诉数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Median time to first response</source>
        <translation>首次响应时间中位数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Median time to resolution</source>
        <translation>解决时间中位数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisfaction after resolution</source>
        <translation>解决后满意度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>First response on time</source>
        <translation>按时首次响应</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved on time</source>
        <translation>按时解决</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Follow-up done</source>
        <translation>已完成回访</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repeat complainants</source>
        <translation>重复投诉顾客</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>By category</source>
        <translation>按类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+5"/>
        <source>Complaints</source>
        <translation>投诉数</translation>
    </message>
    <message>
        <location line="-5"/>
        <location line="+5"/>
        <source>Share</source>
        <translation>占比</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>By channel</source>
        <translation>按渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Channel</source>
        <translation>渠道</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Members who complained again</source>
        <translation>再次投诉的会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Members with a complaint this month and at least {count} in the last {months} months.</source>
        <translation>本月有投诉且近 {months} 个月内投诉至少 {count} 次的会员。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Member no.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>This month</source>
        <translation>本月</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last {months} months</source>
        <translation>近 {months} 个月</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No member complained more than once.</source>
        <translation>没有会员投诉超过一次。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Came back within {days} days</source>
        <translation>{days} 天内回店消费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Members who bought again after their complaint: counted from the resolution, or from the complaint when it is not resolved yet. Walk-ins are left out.</source>
        <translation>投诉后再次购物的会员：从投诉解决时起计算；尚未解决的从投诉时起计算。不含散客。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Their complaint</source>
        <translation>投诉情况</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Members</source>
        <translation>会员数</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Came back</source>
        <translation>回店消费</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Complaints received in {month}, as they stand at {now}.</source>
        <translation>{month} 受理的投诉，数据截至 {now}。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>from coming in to the first contact</source>
        <translation>从受理到首次联系</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>of the complaints resolved</source>
        <translation>按已解决的投诉计算</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{mean} / 5</source>
        <translation>{mean} / 5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} follow-ups</source>
        <translation>{count} 次回访</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>members</source>
        <translation>名会员</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Resolved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not resolved yet</source>
        <translation>尚未解决</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Complaints and satisfaction</source>
        <translation>投诉与满意度</translation>
    </message>
</context>
<context>
    <name>FollowUpDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="-617"/>
        <source>Record follow-up</source>
        <translation>记录回访</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Record</source>
        <translation>记录(&amp;R)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>5 — very satisfied</source>
        <translation>5 — 非常满意</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>4 — satisfied</source>
        <translation>4 — 满意</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>3 — neutral</source>
        <translation>3 — 一般</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>2 — dissatisfied</source>
        <translation>2 — 不满意</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>1 — very dissatisfied</source>
        <translation>1 — 非常不满意</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>What the customer said</source>
        <translation>顾客的反馈</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;When:</source>
        <translation>时间(&amp;W)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;How:</source>
        <translation>方式(&amp;H)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Satisfaction:</source>
        <translation>满意度(&amp;S)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Comment:</source>
        <translation>评价(&amp;C)：</translation>
    </message>
</context>
<context>
    <name>HandoffLogDialog</name>
    <message>
        <location filename="../../crmdesk/views/handoff_log.py" line="+89"/>
        <source>Hand-off log</source>
        <translation>交接记录</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Hand-off folder:</source>
        <translation>交接文件夹：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>none chosen on this computer</source>
        <translation>本机未设置</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported</source>
        <translation>导入</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Unchanged</source>
        <translation>未变</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Rejected</source>
        <translation>被拒</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Where it went, or why</source>
        <translation>去向或原因</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Nothing handed off yet.</source>
        <translation>还没有交接过文件。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Open the folder</source>
        <translation>打开文件夹(&amp;O)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Refresh</source>
        <translation>刷新(&amp;R)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>HandoffStatusButton</name>
    <message>
        <location filename="../../crmdesk/views/handoff_status.py" line="+108"/>
        <source>Hand-off: waiting for receipts</source>
        <translation>交接：等待小票</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The till&apos;s exports saved in {folder} are imported as they appear.</source>
        <translation>收银软件保存到 {folder} 的导出文件一出现就会导入。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{when}: {summary}
Folder: {folder}
Click for the hand-off log.</source>
        <translation>{when}：{summary}
文件夹：{folder}
点击查看交接记录。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Hand-off: {summary}</source>
        <translation>交接：{summary}</translation>
    </message>
</context>
<context>
    <name>ImportMembersDialog</name>
    <message>
        <location filename="../../crmdesk/views/import_dialog.py" line="+119"/>
        <source>Import members</source>
        <translation>导入会员</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>A CSV (UTF-8 or GBK) or Excel file from the old system, one member per row. Headers in Chinese or English: 卡号, 会员编号, 姓名, 手机, 性别, 生日, 入会日期, 积分, 标签, 备注. Members already in crmdesk are found by card number, member number or phone.</source>
        <translation>旧系统导出的CSV（UTF-8或GBK）或Excel文件，每行一位会员。表头可用中文或英文：卡号、会员编号、姓名、手机、性别、生日、入会日期、积分、标签、备注。已在crmdesk中的会员按卡号、会员编号或手机号识别。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>No file chosen</source>
        <translation>未选择文件</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Choose file…</source>
        <translation>选择文件(&amp;C)…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Chec&amp;k</source>
        <translation>检查(&amp;K)</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Row</source>
        <translation>行</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Card number</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>You can check a file; importing it takes a supervisor or the owner.</source>
        <translation>您可以检查文件；导入需要主管或店主操作。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Skip invalid rows (they are written to a file beside the original)</source>
        <translation>跳过无效行(&amp;S)（写入原文件旁的另一个文件）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Import</source>
        <translation>导入(&amp;I)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Choose a members file</source>
        <translation>选择会员文件</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Members files (*.csv *.txt *.xlsx);;All files (*)</source>
        <translation>会员文件 (*.csv *.txt *.xlsx);;所有文件 (*)</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Checking the file…</source>
        <translation>正在检查文件…</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Importing members…</source>
        <translation>正在导入会员…</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Imported: {new} new, {updated} updated, {unchanged} unchanged.</source>
        <translation>已导入：新增{new}位，更新{updated}位，未变{unchanged}位。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{count} invalid rows were skipped; they are in {path} with their reasons.</source>
        <translation>已跳过{count}个无效行，连同原因保存在 {path}。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Something went wrong; nothing was changed: {detail}</source>
        <translation>出错了，数据未作任何更改：{detail}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cancelled; the database is as it was.</source>
        <translation>已取消，数据库保持原样。</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>New</source>
        <translation>新增</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Update</source>
        <translation>更新</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unchanged</source>
        <translation>未变</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Invalid</source>
        <translation>无效</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>{total} rows: {new} new, {update} to update, {unchanged} unchanged, {invalid} invalid</source>
        <translation>共{total}行：新增{new}，更新{update}，未变{unchanged}，无效{invalid}</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Showing {shown} of {total} rows, invalid rows first.</source>
        <translation>显示{total}行中的{shown}行，无效行在前。</translation>
    </message>
    <message>
        <location line="-26"/>
        <source>Correct the invalid rows in the file and check again, or skip them.</source>
        <translation>请在文件中改正无效行后重新检查，或跳过这些行。</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Nothing to import: every member in the file is already in crmdesk as it is.</source>
        <translation>没有需要导入的内容：文件中的会员都已在crmdesk中且资料相同。</translation>
    </message>
</context>
<context>
    <name>ImportPurchasesDialog</name>
    <message>
        <location filename="../../crmdesk/views/purchase_import_dialog.py" line="+29"/>
        <source>Import purchases</source>
        <translation>导入消费记录</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>A CSV (UTF-8 or GBK) or Excel file from the till or the old system, one receipt (or one item line) per row. Headers in Chinese or English: 小票号, 收银台, 卡号 / 会员编号 / 手机, 时间, 金额, and optionally 类型 (消费 or 退货), 原小票号, 商品编码, 商品名称, 品类, 数量, 单价, 小计. Rows with the same till and receipt number are the lines of one receipt. Receipts already in crmdesk are left as they are.</source>
        <translation>收银系统或旧系统导出的CSV（UTF-8或GBK）或Excel文件，每行一张小票（或一行商品明细）。表头可用中文或英文：小票号、收银台、卡号 / 会员编号 / 手机、时间、金额，以及可选的类型（消费或退货）、原小票号、商品编码、商品名称、品类、数量、单价、小计。收银台和小票号都相同的行是同一张小票的商品明细。已在crmdesk中的小票保持不变。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Row</source>
        <translation>行</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Member</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Skip invalid receipts (their rows are written to a file beside the original)</source>
        <translation>跳过无效小票(&amp;S)（其所在行写入原文件旁的另一个文件）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Import</source>
        <translation>导入(&amp;I)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Choose a purchases file</source>
        <translation>选择消费记录文件</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Purchases files (*.csv *.txt *.xlsx);;All files (*)</source>
        <translation>消费记录文件 (*.csv *.txt *.xlsx);;所有文件 (*)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Importing purchases…</source>
        <translation>正在导入消费记录…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Imported: {sales} sales, {refunds} refunds, {unchanged} unchanged; {points} points earned.</source>
        <translation>已导入：消费{sales}笔，退款{refunds}笔，未变{unchanged}笔；共获得{points}积分。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{count} invalid receipts were skipped; their rows are in {path} with their reasons.</source>
        <translation>已跳过{count}张无效小票，其所在行连同原因保存在 {path}。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{total} receipts ({rows} rows): {new} new, {unchanged} unchanged, {invalid} invalid</source>
        <translation>共{total}张小票（{rows}行）：新增{new}，未变{unchanged}，无效{invalid}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A file this large keeps the tills from selling while it is written (minutes): import it when the shop is closed.</source>
        <translation>这么大的文件写入期间（需要几分钟）收银台无法收款：请在打烊后导入。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Refund of {receipt}</source>
        <translation>退款（原小票 {receipt}）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{count} item lines</source>
        <translation>{count}行商品明细</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Showing {shown} of {total} receipts, invalid ones first.</source>
        <translation>显示{total}张小票中的{shown}张，无效小票在前。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Nothing to import: every receipt in the file is already in crmdesk.</source>
        <translation>没有需要导入的内容：文件中的小票都已在crmdesk中。</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../crmdesk/views/login_dialog.py" line="+39"/>
        <location line="+32"/>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location line="-20"/>
        <source>&amp;Staff:</source>
        <translation>员工(&amp;S)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Password or PIN</source>
        <translation>密码或PIN码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Password or PIN:</source>
        <translation>密码或PIN码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Demo store: sign in as {owner} with the password {password}, or as a cashier with the PIN {pin}.</source>
        <translation>演示门店：可使用{owner}账号和密码 {password} 登录，或以收银员身份使用PIN码 {pin} 登录。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../crmdesk/views/main_window.py" line="+38"/>
        <source>crmdesk — membership and customer care</source>
        <translation>crmdesk — 会员管理与客户服务</translation>
    </message>
    <message>
        <location line="+125"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location line="+63"/>
        <source>{area} (Ctrl+{number})</source>
        <translation>{area} (Ctrl+{number})</translation>
    </message>
    <message>
        <location line="-141"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Switch staff…</source>
        <translation>切换员工(&amp;S)…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Import members…</source>
        <translation>导入会员(&amp;I)…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Import &amp;purchases…</source>
        <translation>导入消费记录(&amp;P)…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;About crmdesk</source>
        <translation>关于 crmdesk(&amp;A)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Database: {where}</source>
        <translation>数据库：{where}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Switch staff (F12)</source>
        <translation>切换员工 (F12)</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>Counter</source>
        <translation>收银台</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Members</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offers</source>
        <translation>优惠活动</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Complaints</source>
        <translation>投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dashboard</source>
        <translation>经营看板</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Money</source>
        <translation>储值赊账</translation>
    </message>
    <message>
        <location line="+87"/>
        <source>{count} overdue</source>
        <translation>逾期 {count} 件</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>promises passed: {count}</source>
        <translation>承诺还款逾期 {count} 笔</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Signed in: {name} ({role})</source>
        <translation>当前登录：{name}（{role}）</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Switch staff</source>
        <translation>切换员工</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>About crmdesk</source>
        <translation>关于 crmdesk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>crmdesk {version}
Membership, loyalty and customer care for neighbourhood shops.</source>
        <translation>crmdesk {version}
面向社区小店的会员、积分与客户服务管理软件。</translation>
    </message>
</context>
<context>
    <name>MemberListPage</name>
    <message>
        <location filename="../../crmdesk/views/member_list.py" line="+171"/>
        <source>Name, pinyin or phone… (Ctrl+F)</source>
        <translation>姓名、拼音或手机号…（Ctrl+F）</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Any status</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Any month</source>
        <translation>全部月份</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Month {number}</source>
        <translation>{number}月</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>from ¥</source>
        <translation>从 ¥</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>to ¥</source>
        <translation>到 ¥</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+15"/>
        <source>at least ¥</source>
        <translation>不低于 ¥</translation>
    </message>
    <message>
        <location line="-13"/>
        <source>Owes money</source>
        <translation>有欠款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A purchase on credit is past its due day and not yet paid.</source>
        <translation>有赊账消费已过到期日，尚未还清。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Any segment</source>
        <translation>全部分群</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Any stage</source>
        <translation>全部阶段</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Any class</source>
        <translation>全部类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Churn alert</source>
        <translation>流失预警</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Away far longer than usual, or spending far less than usual.</source>
        <translation>比平时久未到店，或消费比平时少很多。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The chance the member still shops here, as the purchase model estimates it.</source>
        <translation>购买模型估计的该会员仍在本店消费的概率。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>What the member is expected to spend in the next 12 months.</source>
        <translation>预计该会员未来 12 个月的消费金额。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Status:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tag:</source>
        <translation>标签：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tier:</source>
        <translation>等级：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Birthday:</source>
        <translation>生日：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Joined:</source>
        <translation>入会：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last visit:</source>
        <translation>最近到店：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Spend:</source>
        <translation>消费：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value:</source>
        <translation>储值余额：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Segment:</source>
        <translation>分群：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stage:</source>
        <translation>阶段：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>ABC:</source>
        <translation>ABC 分类：</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Still a customer ≤</source>
        <translation>留存概率 ≤</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>12-month value:</source>
        <translation>12 个月价值：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Group:</source>
        <translation>分组(&amp;G)：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Save group… (Ctrl+G)</source>
        <translation>保存分组…（Ctrl+G）</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+260"/>
        <source>Delete group</source>
        <translation>删除分组</translation>
    </message>
    <message>
        <location line="-252"/>
        <source>Columns…</source>
        <translation>显示列…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Export… (Ctrl+E)</source>
        <translation>导出…（Ctrl+E）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Print… (Ctrl+P)</source>
        <translation>打印…（Ctrl+P）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Print cards…</source>
        <translation>打印会员卡…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Open (Enter)</source>
        <translation>打开（Enter）</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Any tag</source>
        <translation>全部标签</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Any tier</source>
        <translation>全部等级</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>All members (no group)</source>
        <translation>全部会员（不分组）</translation>
    </message>
    <message>
        <location line="+111"/>
        <source>{count} members</source>
        <translation>共 {count} 名会员</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>Save group</source>
        <translation>保存分组</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Name of the group (it stays current as members change):</source>
        <translation>分组名称（会员变化时分组自动更新）：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>A group named {name} already exists. Replace its criteria with the current filter?</source>
        <translation>已有名为 {name} 的分组。要用当前筛选条件替换它吗？</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Replace group</source>
        <translation>替换分组</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Delete the group {name}? The members stay; only the saved filter goes.</source>
        <translation>删除分组 {name}？会员不受影响，只删除保存的筛选条件。</translation>
    </message>
    <message>
        <location line="+84"/>
        <source>Member list</source>
        <translation>会员列表</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Membership cards</source>
        <translation>会员卡</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>members-{date}.xlsx</source>
        <translation>会员-{date}.xlsx</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Export members</source>
        <translation>导出会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Excel workbook (*.xlsx);;CSV for Excel and WPS (*.csv)</source>
        <translation>Excel 工作簿 (*.xlsx);;适用于 Excel 和 WPS 的 CSV (*.csv)</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Exporting members…</source>
        <translation>正在导出会员…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported {count} members to {path}.</source>
        <translation>已导出 {count} 名会员到 {path}。</translation>
    </message>
</context>
<context>
    <name>MemberProfileDialog</name>
    <message>
        <location filename="../../crmdesk/views/member_profile.py" line="+28"/>
        <source>Member</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>&amp;Details</source>
        <translation>资料(&amp;D)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Cards</source>
        <translation>会员卡(&amp;C)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;History</source>
        <translation>变更记录(&amp;H)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>P&amp;urchases</source>
        <translation>消费记录(&amp;U)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Poin&amp;ts</source>
        <translation>积分(&amp;T)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Com&amp;plaints</source>
        <translation>投诉(&amp;P)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Stored &amp;value</source>
        <translation>储值(&amp;V)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cr&amp;edit</source>
        <translation>赊账(&amp;E)</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>&amp;Freeze…</source>
        <translation>冻结(&amp;F)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cl&amp;ose membership…</source>
        <translation>注销会员(&amp;O)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reopen…</source>
        <translation>恢复(&amp;R)…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Merge another member into this one…</source>
        <translation>把另一会员合并到此会员(&amp;M)…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Print report…</source>
        <translation>打印报告(&amp;P)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Print ca&amp;rd…</source>
        <translation>打印会员卡(&amp;R)…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Persona&amp;l data</source>
        <translation>个人信息(&amp;L)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>E&amp;xport member&apos;s data…</source>
        <translation>导出会员个人信息(&amp;X)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Erase personal data…</source>
        <translation>删除个人信息(&amp;E)…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Close (Esc)</source>
        <translation>关闭（Esc）</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Member report</source>
        <translation>会员报告</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Membership card</source>
        <translation>会员卡</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>11-digit mobile number</source>
        <translation>11位手机号</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>not given</source>
        <translation>未填写</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>separated by commas, e.g. 老顾客, 宝妈</source>
        <translation>用逗号分隔，例如 老顾客，宝妈</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>&amp;Name:</source>
        <translation>姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Phone:</source>
        <translation>手机(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Gender:</source>
        <translation>性别(&amp;G)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Birthday:</source>
        <translation>生日(&amp;B)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Address:</source>
        <translation>地址(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;E-mail:</source>
        <translation>邮箱(&amp;E)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Tags:</source>
        <translation>标签(&amp;T)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Co&amp;mpany:</source>
        <translation>单位(&amp;M)：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Marketing &amp;consent:</source>
        <translation>营销许可(&amp;C)：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Keeping data:</source>
        <translation>信息保存：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Source:</source>
        <translation>来源(&amp;S)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>N&amp;otes:</source>
        <translation>备注(&amp;O)：</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Open that member</source>
        <translation>打开该会员</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Save (Ctrl+S)</source>
        <translation>保存(&amp;S)（Ctrl+S）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Undo changes</source>
        <translation>撤销修改(&amp;U)</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Card number</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Issued</source>
        <translation>发卡时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Ended</source>
        <translation>停用时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>From import</source>
        <translation>导入的卡</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Issue card…</source>
        <translation>发卡(&amp;I)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Replace card…</source>
        <translation>换卡(&amp;R)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Report &amp;lost</source>
        <translation>挂失(&amp;L)</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+42"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+43"/>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location line="-43"/>
        <source>What</source>
        <translation>项目</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Before</source>
        <translation>修改前</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>After</source>
        <translation>修改后</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+31"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="-31"/>
        <source>Till</source>
        <translation>收银台</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+31"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="-31"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+25"/>
        <location line="+5"/>
        <source>Points</source>
        <translation>积分</translation>
    </message>
    <message>
        <location line="-30"/>
        <source>Payment</source>
        <translation>支付方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Items</source>
        <translation>商品数</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&lt; &amp;Newer</source>
        <translation>&lt; 上一页(&amp;N)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Older &gt;</source>
        <translation>下一页(&amp;O) &gt;</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Unspent points by expiry date</source>
        <translation>未使用积分（按到期日）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Usable until</source>
        <translation>有效期至</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Points ledger, newest first</source>
        <translation>积分明细（最新在前）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Adjust points…</source>
        <translation>调整积分(&amp;A)…</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>No.</source>
        <translation>编号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Received</source>
        <translation>受理时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owner</source>
        <translation>负责人</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Resolve by</source>
        <translation>解决期限</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Description</source>
        <translation>描述</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Double-click a complaint to see its timeline and work on it.</source>
        <translation>双击投诉可查看其时间线并进行处理。</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>Erased member {member_no}</source>
        <translation>匿名会员 {member_no}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Member {name} ({member_no})</source>
        <translation>会员 {name}（{member_no}）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>no card</source>
        <translation>无卡</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{status} · tier {tier} · {points} points · {visits} visits · spend {spend} · card {card} · joined {joined}</source>
        <translation>{status} · 等级 {tier} · 积分 {points} · 到店 {visits} 次 · 消费 {spend} · 卡号 {card} · {joined} 入会</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>Customer insight as of {date}: {segment} · ABC class {abc} · {stage}</source>
        <translation>客户洞察（截至 {date}）：{segment} · ABC 分类 {abc} · {stage}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Still a customer, expected purchases and 12-month value: not yet reliable.</source>
        <translation>留存概率、预计购买次数和 12 个月价值：暂不可靠。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Still a customer: {percent} · expected purchases in 12 months: {purchases} · 12-month value: {value}</source>
        <translation>留存概率：{percent} · 未来 12 个月预计购买 {purchases} 次 · 12 个月价值：{value}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Churn alert: {alert} ({reason})</source>
        <translation>流失预警：{alert}（{reason}）</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>overdue</source>
        <translation>已逾期</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>Visits: {visits} · Spend: {spend} · Average basket: {average} · First visit: {first} · Last visit: {last}</source>
        <translation>消费次数：{visits} · 累计消费：{spend} · 客单价：{average} · 首次到店：{first} · 最近到店：{last}</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>{points} (taken back with the refund)</source>
        <translation>{points}（随退款扣回）</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Balance: {points} points</source>
        <translation>现有积分：{points}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>no expiry</source>
        <translation>永久有效</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>Already a member:</source>
        <translation>已是会员：</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Scan the new blank card, or leave this empty to give the next card number:</source>
        <translation>请扫描新的空白卡；留空则自动分配下一个卡号：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Issue card</source>
        <translation>发卡</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Replace card</source>
        <translation>换卡</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Report card {number} as lost? It stops working at once.</source>
        <translation>挂失卡 {number}？挂失后立即停用。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Report lost</source>
        <translation>挂失</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Freeze membership</source>
        <translation>冻结会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Close membership</source>
        <translation>注销会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reopen membership</source>
        <translation>恢复会员</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reason (kept in the member&apos;s history):</source>
        <translation>原因（记入会员变更记录）：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Give a reason, so colleagues know why.</source>
        <translation>请填写原因，方便同事了解情况。</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Personal data erased {when}</source>
        <translation>个人信息已于 {when} 删除</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Given</source>
        <translation>已同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Withdraw…</source>
        <translation>撤回(&amp;W)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not recorded</source>
        <translation>未记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Record consent</source>
        <translation>记录同意</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Record that the member withdrew their consent to the shop keeping their data?</source>
        <translation>记录该会员已撤回同意本店保存其个人信息？</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Withdraw consent</source>
        <translation>撤回同意</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Folder for the member&apos;s copy of their data</source>
        <translation>选择保存会员个人信息副本的文件夹</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Writing the member&apos;s data…</source>
        <translation>正在导出会员个人信息…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The member&apos;s data was saved as
{pdf}
{json}
Hand both files to the member.</source>
        <translation>会员个人信息已保存为
{pdf}
{json}
请将两个文件都交给会员。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>The personal data of member {member_no} was erased.</source>
        <translation>会员 {member_no} 的个人信息已删除。</translation>
    </message>
</context>
<context>
    <name>MergeDialog</name>
    <message>
        <location line="-891"/>
        <source>Merge another member into this one</source>
        <translation>把另一会员合并到此会员</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cards, purchases, points, complaints, tags and history of the member you choose move to the member on the left; the member you choose is then closed. This cannot be undone.</source>
        <translation>所选会员的会员卡、消费记录、积分、投诉、标签和变更记录将转到左侧会员名下，所选会员随后注销。此操作无法撤销。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Card, phone, name or pinyin of the other member</source>
        <translation>另一会员的卡号、手机号、姓名或拼音</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Keep</source>
        <translation>保留</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Merge in and close</source>
        <translation>合并后注销</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Choose a member above.</source>
        <translation>请在上方选择会员。</translation>
    </message>
    <message>
        <location line="+16"/>
        <location line="+36"/>
        <source>&amp;Merge</source>
        <translation>合并(&amp;M)</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>Points: {points}   Visits: {visits}   Spend: {spend}</source>
        <translation>积分：{points}   到店：{visits}   消费：{spend}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Card: {card}   Joined: {joined}</source>
        <translation>卡号：{card}   入会：{joined}</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>&amp;Merge {name} into {keep}</source>
        <translation>把 {name} 合并到 {keep}(&amp;M)</translation>
    </message>
</context>
<context>
    <name>MoneyPage</name>
    <message>
        <location filename="../../crmdesk/views/money_page.py" line="+48"/>
        <source>Stored value and credit</source>
        <translation>储值与赊账</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Print &amp;aging…</source>
        <translation>打印账龄(&amp;A)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Print stored-value &amp;liability…</source>
        <translation>打印储值负债(&amp;L)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Refresh</source>
        <translation>刷新(&amp;R)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Stored value held for members</source>
        <translation>会员储值余额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owed on credit</source>
        <translation>赊账欠款</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+16"/>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>Overdue (Enter opens the member)</source>
        <translation>逾期（按回车打开会员）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Member no.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Owes</source>
        <translation>欠款</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Days</source>
        <translation>逾期天数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last note</source>
        <translation>最近催收记录</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Promised by</source>
        <translation>承诺还款日</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Nobody is overdue.</source>
        <translation>没有逾期的会员。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>As of the end of {day}.</source>
        <translation>截至 {day} 日终。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{principal} paid in, {bonus} bonus; {members} members</source>
        <translation>本金 {principal}，赠送 {bonus}；共 {members} 名会员</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+2"/>
        <source>{members} members</source>
        <translation>共 {members} 名会员</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>The promise has passed: follow it up.</source>
        <translation>承诺还款日已过，请跟进催收。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Credit aging</source>
        <translation>赊账账龄</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Stored-value liability</source>
        <translation>储值负债</translation>
    </message>
</context>
<context>
    <name>MoneySettingsTab</name>
    <message>
        <location filename="../../crmdesk/views/money_settings_tab.py" line="+35"/>
        <source>Follow China&apos;s prepaid card rules (单用途商业预付卡管理办法)</source>
        <translation>遵守预付卡规定（单用途商业预付卡管理办法）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>0: every payment</source>
        <translation>0：每笔都需输入支付密码</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>never</source>
        <translation>从不</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> days overdue</source>
        <translation> 天后</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A wallet holds at &amp;most (¥):</source>
        <translation>储值余额上限（¥）(&amp;M)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Payments &amp;draw on:</source>
        <translation>储值扣款顺序(&amp;D)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No &amp;PIN needed up to (¥):</source>
        <translation>免密支付上限（¥）(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Credit stops by &amp;itself after:</source>
        <translation>逾期自动停止赊账(&amp;I)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Highest &amp;suggested credit limit (¥):</source>
        <translation>建议赊账额度上限（¥）(&amp;S)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Save settings</source>
        <translation>保存设置(&amp;S)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Top-up bonuses: the biggest one a top-up reaches applies.</source>
        <translation>充值赠送：按充值金额达到的最高一档赠送。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Bonus</source>
        <translation>充值赠送</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>From</source>
        <translation>开始日期</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Until</source>
        <translation>结束日期</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Add bonus…</source>
        <translation>添加充值赠送(&amp;A)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;End bonus</source>
        <translation>结束充值赠送(&amp;E)</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Every tier</source>
        <translation>全部等级</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>In use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Ended</source>
        <translation>已结束</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Saved. The cap is {cap}.</source>
        <translation>已保存。储值上限为 {cap}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Saved. No cap: the prepaid card rules are switched off.</source>
        <translation>已保存。已关闭预付卡规定，储值余额不设上限。</translation>
    </message>
</context>
<context>
    <name>NewMemberDialog</name>
    <message>
        <location filename="../../crmdesk/views/member_form.py" line="+64"/>
        <source>New member</source>
        <translation>新会员</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Enter moves to the next field. Scan the blank card, or press Enter on the card field to register without one.</source>
        <translation>回车跳到下一项。扫描空白卡；不发卡时在卡号栏直接按回车即可登记。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>mobile, e.g. 138 0013 8000; +852 … outside the mainland</source>
        <translation>手机号，例如 138 0013 8000；境外号码以 +852 等开头</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Phone:</source>
        <translation>手机(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>e.g. 张三</source>
        <translation>例如 张三</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Name:</source>
        <translation>姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>optional, e.g. 1985-06-02 or 19850602</source>
        <translation>可不填，例如 1985-06-02 或 19850602</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>scan the blank card (optional)</source>
        <translation>扫描空白卡（可不填）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Card:</source>
        <translation>卡号(&amp;C)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+125"/>
        <source>More details (Ctrl+D)</source>
        <translation>更多信息（Ctrl+D）</translation>
    </message>
    <message>
        <location line="-116"/>
        <source>Not given</source>
        <translation>未填写</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Gender:</source>
        <translation>性别(&amp;G)：</translation>
    </message>
    <message>
        <location line="-17"/>
        <source>&amp;Birthday:</source>
        <translation>生日(&amp;B)：</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>separated by commas, e.g. 老顾客, 宝妈</source>
        <translation>用逗号分隔，例如 老顾客，宝妈</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Tags:</source>
        <translation>标签(&amp;T)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No marketing messages</source>
        <translation>不接收营销信息</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offers by SMS</source>
        <translation>短信接收优惠</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offers by e-mail</source>
        <translation>邮件接收优惠</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Marketing:</source>
        <translation>营销(&amp;M)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Recorded now, by {name}</source>
        <translation>记录时间为现在，记录人：{name}</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Open existing member (Ctrl+O)</source>
        <translation>打开已有会员（Ctrl+O）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Register anyway (Ctrl+R)</source>
        <translation>仍然登记（Ctrl+R）</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Register (Ctrl+Enter)</source>
        <translation>登记（Ctrl+回车）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel (Esc)</source>
        <translation>取消（Esc）</translation>
    </message>
    <message>
        <location line="+62"/>
        <source>Fewer details (Ctrl+D)</source>
        <translation>收起（Ctrl+D）</translation>
    </message>
    <message>
        <location line="-17"/>
        <location line="+39"/>
        <source>Enter the member&apos;s mobile number.</source>
        <translation>请输入会员手机号。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Enter the member&apos;s name.</source>
        <translation>请输入会员姓名。</translation>
    </message>
</context>
<context>
    <name>NoteDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="-144"/>
        <source>Add note</source>
        <translation>添加备注</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Add note</source>
        <translation>添加备注(&amp;A)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>What happened, what was said, what comes next</source>
        <translation>发生了什么、沟通了什么、下一步怎么做</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>I reached the &amp;customer (counts as the first response)</source>
        <translation>已联系上顾客(&amp;C)（计为首次响应）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Note:</source>
        <translation>备注(&amp;N)：</translation>
    </message>
</context>
<context>
    <name>OfferDialog</name>
    <message>
        <location filename="../../crmdesk/views/offers_page.py" line="-363"/>
        <source>Change offer</source>
        <translation>修改优惠活动</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>New offer</source>
        <translation>新建优惠活动</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>&amp;Name:</source>
        <translation>名称(&amp;N)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Kind:</source>
        <translation>类型(&amp;K)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Description:</source>
        <translation>说明(&amp;D)：</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>YYYY-MM-DD, empty: from now</source>
        <translation>年-月-日，留空则立即开始</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>YYYY-MM-DD, empty: no end</source>
        <translation>年-月-日，留空则长期有效</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;From:</source>
        <translation>开始日期(&amp;F)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Until:</source>
        <translation>结束日期(&amp;U)：</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>&amp;For:</source>
        <translation>适用对象(&amp;F)：</translation>
    </message>
    <message>
        <location line="+126"/>
        <source>Set by the points cost at the points rules&apos; rate.</source>
        <translation>由所需积分按积分规则的兑换比例计算。</translation>
    </message>
    <message>
        <location line="-135"/>
        <source>Tags separated by commas</source>
        <translation>标签，用逗号分隔</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Uses per &amp;member:</source>
        <translation>每位会员限用次数(&amp;M)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Uses in &amp;total:</source>
        <translation>总限用次数(&amp;T)：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Points cost:</source>
        <translation>所需积分(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Needs a single-use &amp;coupon code</source>
        <translation>需要一次性优惠券码(&amp;C)</translation>
    </message>
    <message>
        <location line="-127"/>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+42"/>
        <location line="+155"/>
        <source>e.g. 100</source>
        <translation>例如 100</translation>
    </message>
    <message>
        <location line="-152"/>
        <source>e.g. 10</source>
        <translation>例如 10</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>For &amp;every full amount (每满减), not once</source>
        <translation>每满减(&amp;E)（每满一次减一次，而非只减一次）</translation>
    </message>
    <message>
        <location line="-4"/>
        <location line="+152"/>
        <source>Spend at least (¥):</source>
        <translation>消费满（¥）：</translation>
    </message>
    <message>
        <location line="-149"/>
        <source>Amount off (¥):</source>
        <translation>减免金额（¥）：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>e.g. 5 for 5 % off</source>
        <translation>例如 5 表示减免5%（即95折）</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+150"/>
        <source>Discount (%):</source>
        <translation>折扣减免（%）：</translation>
    </message>
    <message>
        <location line="-99"/>
        <source>Only these &amp;tiers:</source>
        <translation>仅限等级(&amp;T)：</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>None</source>
        <translation>无</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>None ticked: every tier.</source>
        <translation>不勾选即所有等级。</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>Minimum basket (¥):</source>
        <translation>最低消费（¥）：</translation>
    </message>
    <message>
        <location line="-143"/>
        <location line="+150"/>
        <source>Gift:</source>
        <translation>赠品：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Gift (optional):</source>
        <translation>赠品（可不填）：</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Discount % (optional):</source>
        <translation>折扣减免%（可不填）：</translation>
    </message>
    <message>
        <location line="-144"/>
        <source>Buy:</source>
        <translation>购买数量：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Get free:</source>
        <translation>赠送数量：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Item code:</source>
        <translation>商品编码：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>or category:</source>
        <translation>或品类：</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Points multiplier:</source>
        <translation>积分倍率：</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>On (none: every day):</source>
        <translation>适用日（不选则每天）：</translation>
    </message>
</context>
<context>
    <name>OffersPage</name>
    <message>
        <location line="+321"/>
        <source>&amp;New offer (Ctrl+N)</source>
        <translation>新建优惠(&amp;N)（Ctrl+N）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Change…</source>
        <translation>修改(&amp;C)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+75"/>
        <source>Switch &amp;off</source>
        <translation>停用(&amp;O)</translation>
    </message>
    <message>
        <location line="-73"/>
        <source>Make c&amp;oupons…</source>
        <translation>生成优惠券(&amp;O)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Refresh (F5)</source>
        <translation>刷新(&amp;R)（F5）</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Active</source>
        <translation>已启用</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Off</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>Switch &amp;on</source>
        <translation>启用(&amp;O)</translation>
    </message>
</context>
<context>
    <name>OwnerPage</name>
    <message>
        <location filename="../../crmdesk/views/setup_wizard.py" line="+32"/>
        <source>The owner&apos;s account</source>
        <translation>店主账号</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The owner can do everything, including managing staff. Choose a password of at least {count} characters.</source>
        <translation>店主拥有全部权限，包括管理员工。请设置至少{count}个字符的密码。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Your &amp;name:</source>
        <translation>您的姓名(&amp;N)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Password:</source>
        <translation>密码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Repeat password:</source>
        <translation>确认密码(&amp;R)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>optional, 4 to 6 digits</source>
        <translation>可选，4至6位数字</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Counter P&amp;IN:</source>
        <translation>收银PIN码(&amp;I)：</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>The two passwords differ.</source>
        <translation>两次输入的密码不一致。</translation>
    </message>
</context>
<context>
    <name>PayPinDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="-52"/>
        <source>Payment PIN of {name}</source>
        <translation>{name}的支付密码</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The member types 4 to 6 digits twice. Leave both empty to remove the PIN.</source>
        <translation>请会员输入两次 4 至 6 位数字。两栏都留空则取消支付密码。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;PIN:</source>
        <translation>支付密码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Again:</source>
        <translation>再次输入(&amp;A)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save (Enter)</source>
        <translation>保存（回车）</translation>
    </message>
</context>
<context>
    <name>PriorityDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="+12"/>
        <source>Change priority</source>
        <translation>修改优先级</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Change</source>
        <translation>修改(&amp;C)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Why (optional)</source>
        <translation>原因（选填）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Priority:</source>
        <translation>优先级(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
</context>
<context>
    <name>PurchaseDialog</name>
    <message>
        <location filename="../../crmdesk/views/purchase_dialogs.py" line="+205"/>
        <source>Record purchase for {name}</source>
        <translation>为{name}记录消费</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>e.g. 123.45</source>
        <translation>例如 123.45</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>&amp;Amount (¥):</source>
        <translation>金额（¥）(&amp;A)：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Receipt no.:</source>
        <translation>小票号(&amp;R)：</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>&amp;Till:</source>
        <translation>收银台(&amp;T)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>T&amp;ime:</source>
        <translation>时间(&amp;I)：</translation>
    </message>
    <message>
        <location line="-32"/>
        <source>&amp;Payment:</source>
        <translation>支付方式(&amp;P)：</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>optional: made up when empty</source>
        <translation>可不填：留空时自动生成</translation>
    </message>
    <message>
        <location line="+136"/>
        <source>{name}&apos;s membership is frozen: a supervisor or the owner approves this purchase.</source>
        <translation>{name} 的会员资格已冻结：本笔消费须由主管或店主批准。</translation>
    </message>
    <message>
        <location line="-117"/>
        <source>their PIN or password</source>
        <translation>批准人的 PIN 码或密码</translation>
    </message>
    <message>
        <location line="-22"/>
        <source>the member types it</source>
        <translation>由会员本人输入</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>From the &amp;account (¥):</source>
        <translation>从账户支付（¥）(&amp;A)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The r&amp;est paid by:</source>
        <translation>其余部分支付方式(&amp;E)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member&apos;s payment P&amp;IN:</source>
        <translation>会员支付密码(&amp;I)：</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Appro&amp;ved by:</source>
        <translation>批准人(&amp;V)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>P&amp;IN or password:</source>
        <translation>PIN 码或密码(&amp;I)：</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>set once in Settings → This computer</source>
        <translation>在“设置 → 本机”中设置一次即可</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+45"/>
        <source>More: time, till, items (Ctrl+D)</source>
        <translation>更多：时间、收银台、商品明细（Ctrl+D）</translation>
    </message>
    <message>
        <location line="-36"/>
        <source>Items (optional; they must add up to the amount):</source>
        <translation>商品明细（可不填；合计须等于金额）：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Item code</source>
        <translation>商品编码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Name</source>
        <translation>商品名称</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Category</source>
        <translation>品类</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quantity</source>
        <translation>数量</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Price (¥)</source>
        <translation>单价（¥）</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Add &amp;line</source>
        <translation>添加一行(&amp;L)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove li&amp;ne</source>
        <translation>删除一行(&amp;N)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Record (Enter)</source>
        <translation>记录（回车）</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Less (Ctrl+D)</source>
        <translation>收起（Ctrl+D）</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>From the &amp;wallet (¥):</source>
        <translation>储值支付（¥）(&amp;W)：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>On &amp;credit (¥):</source>
        <translation>赊账金额（¥）(&amp;C)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The wallet holds {amount}.</source>
        <translation>储值余额 {amount}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{available} of credit left (owes {owed}).</source>
        <translation>剩余赊账额度 {available}（欠款 {owed}）。</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>{name}&apos;s credit is stopped: a supervisor or the owner approves this purchase on credit.</source>
        <translation>{name}的赊账已停止：这笔赊账须由主管或店主批准。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} is {days} days overdue: a supervisor or the owner approves new credit.</source>
        <translation>{name}已逾期 {days} 天：新的赊账须由主管或店主批准。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{amount} on credit is more than the {available} left: a supervisor or the owner approves it.</source>
        <translation>赊账 {amount} 超过剩余额度 {available}：须由主管或店主批准。</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Earns {points} points.</source>
        <translation>可得 {points} 积分。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{tier} member discount {percent} %</source>
        <translation>{tier}会员折扣 {percent}%</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{discount}: {off} off {amount}.</source>
        <translation>{discount}：{amount} 可减 {off}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Type the amount paid and press Enter.</source>
        <translation>输入实付金额，按回车记录。</translation>
    </message>
    <message>
        <location line="+115"/>
        <source>The server cannot be reached. Press Enter to keep the sale on this till: it is sent when the server is back (type the receipt number, if the till printed one, so it is never counted twice).</source>
        <translation>连不上服务器。按 Enter 把这笔消费暂存在本收银台，服务器恢复后补录（如果收银机已打印小票，请输入小票号，以免重复计入）。</translation>
    </message>
</context>
<context>
    <name>PurchaseDialogs</name>
    <message>
        <location line="-459"/>
        <source>Cancel (Esc)</source>
        <translation>取消（Esc）</translation>
    </message>
    <message>
        <location line="+60"/>
        <source>Waiting for the database: another till or an import is writing. It goes through as soon as it can; nothing is lost.</source>
        <translation>正在等待数据库：另一台收银机或一次导入正在写入。会尽快完成，不会丢失。</translation>
    </message>
</context>
<context>
    <name>RedeemDialog</name>
    <message>
        <location line="+566"/>
        <source>Redeem points of {name}</source>
        <translation>为{name}兑换积分</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{points} points, worth {value} ({rate} points = ¥1 off).</source>
        <translation>现有积分 {points}，可抵 {value}（{rate} 积分抵 ¥1）。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>the receipt the money comes off (optional)</source>
        <translation>抵扣的小票号（可不填）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>optional</source>
        <translation>可不填</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Points:</source>
        <translation>积分(&amp;P)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Worth:</source>
        <translation>可抵扣：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Receipt no.:</source>
        <translation>小票号(&amp;R)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Note:</source>
        <translation>备注(&amp;N)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Points can also buy (apply it from the offers list):</source>
        <translation>积分还可以兑换（在优惠活动列表中使用）：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>· {name}: {what}</source>
        <translation>· {name}：{what}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Redeem (Enter)</source>
        <translation>兑换（回车）</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{value} off</source>
        <translation>抵扣 {value}</translation>
    </message>
</context>
<context>
    <name>RefundDialog</name>
    <message>
        <location line="-178"/>
        <source>Refund for {name}</source>
        <translation>为{name}退款</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Choose the original receipt (or type its number), Enter, then type the amount to give back.</source>
        <translation>选择原小票（或输入小票号），按回车，再输入退款金额。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>optional: made up when empty</source>
        <translation>可不填：留空时自动生成</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Original receipt:</source>
        <translation>原小票(&amp;O)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Till:</source>
        <translation>收银台(&amp;T)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Amount (¥):</source>
        <translation>金额（¥）(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund &amp;receipt no.:</source>
        <translation>退款小票号(&amp;R)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Refund (Enter)</source>
        <translation>退款（回车）</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>at most {left}</source>
        <translation>最多 {left}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{time} · paid {paid} · refundable {left}</source>
        <translation>{time} · 实付 {paid} · 可退 {left}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Not among the recent sales: the till and receipt are checked when you refund.</source>
        <translation>不在近期消费中：退款时将核对收银台和小票号。</translation>
    </message>
</context>
<context>
    <name>ReopenDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="+157"/>
        <source>Reopen complaint</source>
        <translation>重新打开投诉</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Reopen</source>
        <translation>重新打开(&amp;R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The complaint goes back to in progress. Its deadlines stay as they were.</source>
        <translation>投诉将恢复为“处理中”，原有期限保持不变。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>e.g. the customer called again: the exchange was also spoiled</source>
        <translation>例如：顾客再次来电，换货的商品也已变质</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
</context>
<context>
    <name>RepayDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="-105"/>
        <source>Repayment of {name}</source>
        <translation>{name}还款</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Owes {owed}.</source>
        <translation>欠款 {owed}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{overdue} of it is overdue, the oldest by {days} days.</source>
        <translation>其中 {overdue} 已逾期，最久的逾期 {days} 天。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>at most {owed}</source>
        <translation>最多 {owed}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Amount paid back (¥):</source>
        <translation>还款金额（¥）(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid &amp;by:</source>
        <translation>支付方式(&amp;B)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Record repayment (Enter)</source>
        <translation>记录还款（回车）</translation>
    </message>
</context>
<context>
    <name>ReportPreviewDialog</name>
    <message>
        <location filename="../../crmdesk/views/report_preview.py" line="+236"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Print… (Ctrl+P)</source>
        <translation>打印…（Ctrl+P）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Save as PDF… (Ctrl+S)</source>
        <translation>另存为 PDF…（Ctrl+S）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Landscape (more columns)</source>
        <translation>横向（显示更多列）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Full phone numbers (recorded in the audit log)</source>
        <translation>显示完整手机号（记入审计日志）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>A4 sheets, 10 cards per page</source>
        <translation>A4 纸，每页 10 张卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Single cards (85.6 × 54 mm card printer)</source>
        <translation>单张卡（85.6 × 54 mm 证卡打印机）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>QR code</source>
        <translation>二维码</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Layout:</source>
        <translation>版式：</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Month:</source>
        <translation>月份：</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>As of the end of:</source>
        <translation>截至日期：</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+9"/>
        <source>From:</source>
        <translation>开始日期：</translation>
    </message>
    <message>
        <location line="-7"/>
        <location line="+9"/>
        <source>To:</source>
        <translation>结束日期：</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Preparing the document…</source>
        <translation>正在生成文档…</translation>
    </message>
    <message numerus="yes">
        <location line="+32"/>
        <source>%n page(s)</source>
        <translation>
            <numerusform>共 %n 页</numerusform>
        </translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Stopped; change an option to make the document again.</source>
        <translation>已停止；修改任一选项即可重新生成文档。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Save as PDF</source>
        <translation>另存为 PDF</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Could not save {path}: {reason}</source>
        <translation>无法保存 {path}：{reason}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Saved {path}.</source>
        <translation>已保存 {path}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not saved</source>
        <translation>未保存</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Printing…</source>
        <translation>正在打印…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message numerus="yes">
        <location line="+5"/>
        <source>Sent %n page(s) to the printer.</source>
        <translation>
            <numerusform>已将 %n 页发送到打印机。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ResolveDialog</name>
    <message>
        <location filename="../../crmdesk/views/complaint_detail.py" line="-148"/>
        <source>Resolve complaint</source>
        <translation>解决投诉</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Resolve</source>
        <translation>解决(&amp;R)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>What was done:</source>
        <translation>处理方式：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>amount in ¥ given back, e.g. 35.80</source>
        <translation>退还金额（元），例如 35.80</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;fund (¥):</source>
        <translation>退款金额（¥）(&amp;F)：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source> points</source>
        <translation> 积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Goodwill points:</source>
        <translation>补偿积分(&amp;G)：</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>C&amp;oupon offer:</source>
        <translation>优惠券活动(&amp;O)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Give compensation again (it was compensated before)</source>
        <translation>再次给予补偿（此前已补偿过）</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Goodwill points and coupons go to members; this customer is a walk-in.</source>
        <translation>补偿积分和优惠券只能发给会员；此顾客是散客（非会员）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Goodwill points and coupons need a supervisor or the owner.</source>
        <translation>补偿积分和优惠券需由主管或店主发放。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No coupon offer is switched on; define one under Offers to give coupons.</source>
        <translation>目前没有已启用的优惠券活动；请先在“优惠活动”中设置一个，才能发放优惠券。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The customer has been &amp;told</source>
        <translation>已告知顾客(&amp;T)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>What was agreed (needed for &quot;other&quot;)</source>
        <translation>双方商定的处理方式（选择“其他”时必填）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Note:</source>
        <translation>备注(&amp;N)：</translation>
    </message>
</context>
<context>
    <name>RulesTab</name>
    <message>
        <location filename="../../crmdesk/views/loyalty_settings.py" line="+64"/>
        <source> points per full ¥1</source>
        <translation> 积分/每满¥1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> points = ¥1 off</source>
        <translation> 积分抵扣¥1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>End of the calendar year after earning</source>
        <translation>获得后次年年底</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A number of months after earning</source>
        <translation>获得后若干个月</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> months</source>
        <translation> 个月</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Mon</source>
        <translation>周一</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tue</source>
        <translation>周二</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Wed</source>
        <translation>周三</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Thu</source>
        <translation>周四</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Fri</source>
        <translation>周五</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sat</source>
        <translation>周六</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sun</source>
        <translation>周日</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>YYYY-MM-DD, separated by commas, e.g. 2026-10-01, 2026-11-11</source>
        <translation>年-月-日，用逗号分隔，例如 2026-10-01, 2026-11-11</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Earning:</source>
        <translation>消费积分(&amp;E)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Redeeming:</source>
        <translation>积分兑换(&amp;R)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points e&amp;xpire:</source>
        <translation>积分有效期(&amp;X)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mon&amp;ths:</source>
        <translation>月数(&amp;T)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bonus weekdays:</source>
        <translation>每周加倍日：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bonus &amp;dates:</source>
        <translation>加倍日期(&amp;D)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bonus &amp;multiplier:</source>
        <translation>加倍倍数(&amp;M)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Categories that earn differently (0 % earns nothing, 200 % double):</source>
        <translation>按品类设置积分比例（0% 不积分，200% 双倍积分）：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Category</source>
        <translation>品类</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Earns (%)</source>
        <translation>积分比例（%）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Add category</source>
        <translation>添加品类(&amp;A)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remo&amp;ve category</source>
        <translation>删除品类(&amp;V)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Save rules (Ctrl+S)</source>
        <translation>保存规则(&amp;S)（Ctrl+S）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Undo changes</source>
        <translation>撤销修改(&amp;U)</translation>
    </message>
    <message>
        <location line="+90"/>
        <source>Saved. The rules apply to purchases recorded from now on.</source>
        <translation>已保存。新规则适用于此后记录的消费。</translation>
    </message>
</context>
<context>
    <name>SatisfactionTab</name>
    <message>
        <location filename="../../crmdesk/views/complaints_page.py" line="+16"/>
        <source>&amp;Month:</source>
        <translation>月份(&amp;M)：</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Survey responses</source>
        <translation>调查回复数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisfied (4 or 5)</source>
        <translation>满意（4 或 5 分）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Questions that dropped</source>
        <translation>下降的题目</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Questions</source>
        <translation>题目</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Question</source>
        <translation>题目</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Answers</source>
        <translation>回答数</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mean</source>
        <translation>平均分</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Month before</source>
        <translation>上月</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Change</source>
        <translation>变化</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Satisfied</source>
        <translation>满意率</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Alert</source>
        <translation>预警</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Latest responses (any month)</source>
        <translation>最新回复（不限月份）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Member</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Channel</source>
        <translation>渠道</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Scores</source>
        <translation>评分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Comment</source>
        <translation>评价</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Taken by</source>
        <translation>记录人</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Compared with {previous}; a question is flagged when its mean drops by more than {points} points.</source>
        <translation>与 {previous} 相比；某题平均分下降超过 {points} 分时将被标记。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{count} scores</source>
        <translation>{count} 个评分</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>by more than {points}</source>
        <translation>降幅超过 {points} 分</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>! Dropped since {previous}: {questions}</source>
        <translation>! 较 {previous} 下降：{questions}</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+30"/>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location line="-15"/>
        <source>! dropped</source>
        <translation>! 下降</translation>
    </message>
</context>
<context>
    <name>SecretDialog</name>
    <message>
        <location filename="../../crmdesk/views/staff_dialogs.py" line="+17"/>
        <source>Repeat:</source>
        <translation>确认：</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The two entries differ.</source>
        <translation>两次输入不一致。</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="+143"/>
        <source>Store</source>
        <translation>门店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This computer</source>
        <translation>本机</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Points rules</source>
        <translation>积分规则</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tiers</source>
        <translation>会员等级</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Stored value and credit</source>
        <translation>储值与赊账</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Backup and restore</source>
        <translation>备份与恢复</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Audit log</source>
        <translation>审计日志</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <location filename="../../crmdesk/views/setup_wizard.py" line="+20"/>
        <source>Set up crmdesk</source>
        <translation>设置 crmdesk</translation>
    </message>
</context>
<context>
    <name>SlipPrinter</name>
    <message>
        <location filename="../../crmdesk/views/slip_printing.py" line="+26"/>
        <source>Top-up receipt</source>
        <translation>充值小票</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cash-out slip</source>
        <translation>退卡凭条</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IOU</source>
        <translation>赊账单</translation>
    </message>
    <message>
        <location line="+65"/>
        <source>{slip} not printed: {problem} Ctrl+P tries again.</source>
        <translation>{slip}未打印：{problem} 按 Ctrl+P 重试。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{slip} printed.</source>
        <translation>{slip}已打印。</translation>
    </message>
</context>
<context>
    <name>StaffTab</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="-193"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Signs in with</source>
        <translation>登录方式</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Add…</source>
        <translation>添加(&amp;A)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reset &amp;PIN…</source>
        <translation>重置PIN码(&amp;P)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set pass&amp;word…</source>
        <translation>设置密码(&amp;W)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+40"/>
        <source>&amp;Disable</source>
        <translation>停用(&amp;D)</translation>
    </message>
    <message>
        <location line="-19"/>
        <source>Active</source>
        <translation>正常</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PIN</source>
        <translation>PIN码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>&amp;Enable</source>
        <translation>启用(&amp;E)</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>New PIN for {name}</source>
        <translation>为{name}设置新PIN码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New &amp;PIN:</source>
        <translation>新PIN码(&amp;P)：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>4 to 6 digits</source>
        <translation>4至6位数字</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>New password for {name}</source>
        <translation>为{name}设置新密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New pass&amp;word:</source>
        <translation>新密码(&amp;W)：</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>at least {count} characters</source>
        <translation>至少{count}个字符</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Disable {name}? They will no longer be able to sign in.</source>
        <translation>确定停用{name}吗？停用后该员工将无法登录。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disable account</source>
        <translation>停用账号</translation>
    </message>
</context>
<context>
    <name>StorePage</name>
    <message>
        <location filename="../../crmdesk/views/setup_wizard.py" line="-64"/>
        <source>Welcome to crmdesk</source>
        <translation>欢迎使用 crmdesk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This database is new. Two short steps set it up for your store.</source>
        <translation>这是一个新数据库。只需两个简单步骤，即可为您的门店完成设置。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>e.g. Happy Neighbour Supermarket</source>
        <translation>例如：好邻居超市</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Store &amp;name:</source>
        <translation>门店名称(&amp;N)：</translation>
    </message>
</context>
<context>
    <name>StoreTab</name>
    <message>
        <location filename="../../crmdesk/views/settings_page.py" line="-324"/>
        <source>Store &amp;name:</source>
        <translation>门店名称(&amp;N)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Address:</source>
        <translation>地址(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Phone:</source>
        <translation>电话(&amp;P)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Save (Ctrl+S)</source>
        <translation>保存(&amp;S) (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Only a supervisor or the owner can change the store&apos;s details.</source>
        <translation>只有主管或店主可以修改门店信息。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
</context>
<context>
    <name>SurveyDialog</name>
    <message>
        <location filename="../../crmdesk/views/survey_dialog.py" line="+79"/>
        <source>Satisfaction survey</source>
        <translation>满意度调查</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Press 5 to 1 for the highlighted question (5 = very satisfied, 1 = very dissatisfied); 0 skips it. Enter saves, Esc cancels.</source>
        <translation>请为高亮的题目按 5 至 1 评分（5 = 非常满意，1 = 非常不满意）；按 0 跳过。按回车保存，按 Esc 取消。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Member:</source>
        <translation>会员：</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>C&amp;hannel:</source>
        <translation>渠道(&amp;H)：</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>optional: what the customer said</source>
        <translation>选填：顾客的意见</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C&amp;omment:</source>
        <translation>评价(&amp;O)：</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Save (Enter)</source>
        <translation>保存（回车）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel (Esc)</source>
        <translation>取消（Esc）</translation>
    </message>
</context>
<context>
    <name>TiersTab</name>
    <message>
        <location filename="../../crmdesk/views/loyalty_settings.py" line="+23"/>
        <source>Lowest tier first; everyone starts in the first one. Members move up at once when their spend over the last 12 months reaches a threshold, and down only at the monthly review.</source>
        <translation>等级从低到高排列，所有会员都从第一个等级开始。会员近12个月消费达到门槛时立即升级；降级只在每月等级评定时进行。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Name</source>
        <translation>等级名称</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>12-month spend (¥)</source>
        <translation>近12个月消费（¥）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Points (%)</source>
        <translation>积分倍率（%）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Discount (%)</source>
        <translation>折扣减免（%）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Colour</source>
        <translation>颜色</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Active members</source>
        <translation>有效会员数</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Add tier</source>
        <translation>添加等级(&amp;A)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Remove tier</source>
        <translation>删除等级(&amp;R)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>C&amp;olour…</source>
        <translation>颜色(&amp;O)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Undo changes</source>
        <translation>撤销修改(&amp;U)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Save tiers</source>
        <translation>保存等级(&amp;S)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Run tier re&amp;view now</source>
        <translation>立即评定等级(&amp;V)</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>Double-click or press Enter to choose another colour.</source>
        <translation>双击或按回车可选择其他颜色。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Colour of {tier}</source>
        <translation>{tier}的颜色</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Delete a tier in use</source>
        <translation>删除使用中的等级</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Go ahead?</source>
        <translation>是否继续？</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Tiers saved. Members move up with their next purchase and down at the next review.</source>
        <translation>等级已保存。会员将在下次消费时升级，在下次等级评定时降级。</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Tier review done: {up} members moved up, {down} moved down.</source>
        <translation>等级评定完成：{up}位会员升级，{down}位会员降级。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Give every member the tier their spend over the last 12 months earns now, up or down?</source>
        <translation>现在按近12个月消费重新评定所有会员的等级（可能升级也可能降级）吗？</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tier review</source>
        <translation>等级评定</translation>
    </message>
</context>
<context>
    <name>TopUpDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="-67"/>
        <source>Top up the stored value of {name}</source>
        <translation>为{name}充值</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The wallet holds {total} ({principal} paid in, {bonus} bonus).</source>
        <translation>储值余额 {total}（本金 {principal}，赠送 {bonus}）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>e.g. 200</source>
        <translation>例如 200</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&amp;Amount paid in (¥):</source>
        <translation>充值金额（¥）(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid &amp;by:</source>
        <translation>支付方式(&amp;B)：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Under the prepaid card rules a wallet holds at most {cap}, bonus included.</source>
        <translation>按预付卡规定，储值余额（含赠送）最多 {cap}。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Top up (Enter)</source>
        <translation>充值（回车）</translation>
    </message>
</context>
<context>
    <name>WalletAdjustDialog</name>
    <message>
        <location line="+78"/>
        <source>Correct the stored value of {name}</source>
        <translation>调整{name}的储值</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Holds {principal} paid in and {bonus} bonus. Type how much to add (or, with a minus, take away).</source>
        <translation>现有本金 {principal}，赠送 {bonus}。请输入要增加的金额（减少请输入负数）。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>required</source>
        <translation>必填</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Principal (¥):</source>
        <translation>本金（¥）(&amp;P)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Bonus (¥):</source>
        <translation>赠送金额（¥）(&amp;B)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Correct (Enter)</source>
        <translation>调整（回车）</translation>
    </message>
</context>
<context>
    <name>WalletTab</name>
    <message>
        <location filename="../../crmdesk/views/money_tabs.py" line="-141"/>
        <source>&amp;Top up…</source>
        <translation>充值(&amp;T)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Payment P&amp;IN…</source>
        <translation>支付密码(&amp;I)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pay &amp;out and close…</source>
        <translation>退卡退款(&amp;O)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Correct…</source>
        <translation>调整(&amp;C)…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Principal</source>
        <translation>本金</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Bonus</source>
        <translation>赠送</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid by</source>
        <translation>支付方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Print &amp;slip</source>
        <translation>打印凭条(&amp;S)</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Stored value {total}: {principal} paid in, {bonus} bonus.</source>
        <translation>储值余额 {total}：本金 {principal}，赠送 {bonus}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The member has a payment PIN.</source>
        <translation>该会员已设置支付密码。</translation>
    </message>
</context>
<context>
    <name>WriteOffDialog</name>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="+165"/>
        <source>Write off the debt of {name}</source>
        <translation>核销{name}的坏账</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Owes {owed}. A write-off cannot be undone; the debt stays in the history.</source>
        <translation>欠款 {owed}。坏账核销后不能撤销，欠款记录仍保留在历史记录中。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>required, e.g. moved away, cannot be reached</source>
        <translation>必填，例如已搬走、联系不上</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Amount (¥):</source>
        <translation>金额（¥）(&amp;A)：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reason:</source>
        <translation>原因(&amp;R)：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Write off (Enter)</source>
        <translation>核销（回车）</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <location filename="../../crmdesk/app.py" line="+120"/>
        <source>The data was restored</source>
        <translation>数据已恢复</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>At {time} the data was replaced by a backup on another till or window. crmdesk reopens to show it.</source>
        <translation>{time} 另一台收银机或窗口用备份替换了数据。crmdesk 将重新打开以显示恢复后的数据。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Creating the demo store…</source>
        <translation>正在创建演示门店…</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>crmdesk cannot open the database</source>
        <translation>crmdesk 无法打开数据库</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Check the data</source>
        <translation>请检查数据</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>After the upgrade the data check found {count} problems. Settings → Backup and restore → Check now lists them; the backup taken before the upgrade is {backup}.</source>
        <translation>升级后数据检查发现 {count} 个问题。请在 设置 → 备份与恢复 → 立即检查 中查看；升级前的备份是 {backup}。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/failure_hook.py" line="+55"/>
        <source>Something went wrong</source>
        <translation>出错了</translation>
    </message>
</context>
<context>
    <name>audit</name>
    <message>
        <location filename="../../crmdesk/services/audit.py" line="+292"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Staff</source>
        <translation>员工</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Action code</source>
        <translation>操作代码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member no.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sensitive</source>
        <translation>敏感</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/services/audit_actions.py" line="+397"/>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/audit_actions.py" line="-364"/>
        <source>Registered a member</source>
        <translation>登记新会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed a member&apos;s details</source>
        <translation>修改会员资料</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed a member&apos;s status</source>
        <translation>更改会员状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Merged two members</source>
        <translation>合并会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Imported members</source>
        <translation>导入会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported the member list</source>
        <translation>导出会员名单</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Printed the member list</source>
        <translation>打印会员名单</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Erased a member&apos;s personal data</source>
        <translation>删除会员个人信息</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gave a member a copy of their data</source>
        <translation>向会员提供其个人数据副本</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recorded consent</source>
        <translation>记录同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Saved a member group</source>
        <translation>保存会员分组</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed a member group</source>
        <translation>修改会员分组</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Deleted a member group</source>
        <translation>删除会员分组</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Issued a card</source>
        <translation>发放会员卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Replaced a card</source>
        <translation>补换会员卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reported a card lost</source>
        <translation>挂失会员卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed a card</source>
        <translation>注销会员卡</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Redeemed points</source>
        <translation>积分兑换</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Adjusted points by hand</source>
        <translation>手工调整积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the points rules</source>
        <translation>修改积分规则</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the tiers</source>
        <translation>修改会员等级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reviewed the members&apos; tiers</source>
        <translation>评定会员等级</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sold to a frozen member, approved</source>
        <translation>经批准为冻结会员结账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunded a purchase</source>
        <translation>退货退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Imported purchases</source>
        <translation>导入消费记录</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Topped up stored value</source>
        <translation>储值充值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid out stored value</source>
        <translation>退还储值余额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Corrected stored value by hand</source>
        <translation>手工调整储值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set a payment PIN</source>
        <translation>设置支付密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Removed a payment PIN</source>
        <translation>取消支付密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Payment PIN locked after wrong tries</source>
        <translation>支付密码输错次数过多被锁定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added a top-up bonus</source>
        <translation>新建充值赠送</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ended a top-up bonus</source>
        <translation>结束充值赠送</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the stored value and credit settings</source>
        <translation>修改储值与赊账设置</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Changed a credit limit</source>
        <translation>修改赊账额度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stopped a member&apos;s credit</source>
        <translation>停止会员赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allowed a member&apos;s credit again</source>
        <translation>恢复会员赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allowed a charge beyond the credit limit</source>
        <translation>批准超额赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recorded a repayment</source>
        <translation>登记还款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Wrote off a debt</source>
        <translation>坏账核销</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added a collection note</source>
        <translation>添加催收记录</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Created an offer</source>
        <translation>新建优惠活动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed an offer</source>
        <translation>修改优惠活动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched an offer on</source>
        <translation>启用优惠活动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched an offer off</source>
        <translation>停用优惠活动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Made coupons</source>
        <translation>生成优惠券</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Applied an offer</source>
        <translation>使用优惠</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Logged a complaint</source>
        <translation>登记投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Attached a file to a complaint</source>
        <translation>为投诉添加附件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assigned a complaint</source>
        <translation>指派投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed a complaint&apos;s priority</source>
        <translation>更改投诉优先级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Started work on a complaint</source>
        <translation>开始处理投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Contacted the customer about a complaint</source>
        <translation>就投诉联系顾客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added a note to a complaint</source>
        <translation>添加投诉备注</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved a complaint</source>
        <translation>解决投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Followed up a complaint</source>
        <translation>投诉回访</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed a complaint</source>
        <translation>关闭投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reopened a complaint</source>
        <translation>重新打开投诉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the complaint settings</source>
        <translation>修改投诉设置</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added a complaint channel</source>
        <translation>添加投诉渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renamed a complaint channel</source>
        <translation>重命名投诉渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched a complaint channel on</source>
        <translation>启用投诉渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched a complaint channel off</source>
        <translation>停用投诉渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added a complaint category</source>
        <translation>添加投诉类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renamed a complaint category</source>
        <translation>重命名投诉类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed a complaint category</source>
        <translation>修改投诉类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched a complaint category on</source>
        <translation>启用投诉类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched a complaint category off</source>
        <translation>停用投诉类别</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Recorded a satisfaction survey</source>
        <translation>记录满意度调查</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the survey alert</source>
        <translation>修改满意度提醒</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added a survey question</source>
        <translation>添加调查问题</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renamed a survey question</source>
        <translation>重命名调查问题</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched a survey question on</source>
        <translation>启用调查问题</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Switched a survey question off</source>
        <translation>停用调查问题</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Added a staff account</source>
        <translation>添加员工账号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enabled a staff account</source>
        <translation>启用员工账号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disabled a staff account</source>
        <translation>停用员工账号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reset a staff PIN</source>
        <translation>重置员工PIN码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set a staff password</source>
        <translation>设置员工密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Staff account locked after wrong tries</source>
        <translation>员工账号输错次数过多被锁定</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set up the store</source>
        <translation>初始化门店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the store&apos;s details</source>
        <translation>修改门店信息</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Printed full phone numbers</source>
        <translation>打印完整手机号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Printed a member&apos;s statement</source>
        <translation>打印会员对账单</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Backed up the database</source>
        <translation>备份数据库</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed the backup settings</source>
        <translation>修改备份设置</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Restored the database from a backup</source>
        <translation>从备份恢复数据库</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repaired cached figures</source>
        <translation>修复缓存数据</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Anonymised members past the retention period</source>
        <translation>匿名化超过保存期限的会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported the audit log</source>
        <translation>导出审计日志</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Changed the customer insight window</source>
        <translation>修改了客户分析的统计窗口</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Members (all)</source>
        <translation>会员（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cards (all)</source>
        <translation>会员卡（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points (all)</source>
        <translation>积分（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Purchases (all)</source>
        <translation>消费（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value (all)</source>
        <translation>储值（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Credit (all)</source>
        <translation>赊账（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offers (all)</source>
        <translation>优惠活动（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Complaints (all)</source>
        <translation>投诉（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Staff accounts (all)</source>
        <translation>员工账号（全部）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Printouts (all)</source>
        <translation>打印（全部）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>principal</source>
        <translation>本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bonus</source>
        <translation>赠送金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>bonus forfeited</source>
        <translation>作废的赠送金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>refund</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>discount</source>
        <translation>优惠金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>closing balance</source>
        <translation>期末余额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>limit</source>
        <translation>额度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>previous limit</source>
        <translation>原额度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>minimum top-up</source>
        <translation>最低充值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>term in days</source>
        <translation>账期（天）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>previous term in days</source>
        <translation>原账期（天）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>points</source>
        <translation>积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>goodwill points</source>
        <translation>补偿积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ledger entry</source>
        <translation>流水号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>paid by</source>
        <translation>支付方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>approved by</source>
        <translation>批准人</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>file</source>
        <translation>文件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>rows</source>
        <translation>行数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>filter</source>
        <translation>筛选条件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>full phone numbers</source>
        <translation>完整手机号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>document</source>
        <translation>文档</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>from</source>
        <translation>起</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>to</source>
        <translation>止</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>member no.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>card</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>fields</source>
        <translation>字段</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>was</source>
        <translation>原为</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>new</source>
        <translation>新</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>changed</source>
        <translation>修改</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>merged</source>
        <translation>被合并</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kept</source>
        <translation>保留</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>moved</source>
        <translation>转移</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>role</source>
        <translation>角色</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>owner</source>
        <translation>店主</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>count</source>
        <translation>数量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>coupon</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>purchase</source>
        <translation>消费记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>original sale</source>
        <translation>原消费记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>category</source>
        <translation>类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>channel</source>
        <translation>渠道</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>department</source>
        <translation>部门</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>remedies</source>
        <translation>处理方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>satisfaction</source>
        <translation>满意度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>method</source>
        <translation>方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>note</source>
        <translation>记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>backup</source>
        <translation>备份</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>safety copy</source>
        <translation>安全副本</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>members</source>
        <translation>会员数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>sales</source>
        <translation>消费笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>refunds</source>
        <translation>退货笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>skipped</source>
        <translation>跳过</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>unchanged</source>
        <translation>未变</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>updated</source>
        <translation>已更新</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>files</source>
        <translation>文件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>contents</source>
        <translation>内容</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>how</source>
        <translation>方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>given</source>
        <translation>已同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>erased</source>
        <translation>已删除</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kept for years</source>
        <translation>保存年限</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>day</source>
        <translation>日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>attachments</source>
        <translation>附件数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>size in bytes</source>
        <translation>大小（字节）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>staff no.</source>
        <translation>员工编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>customer told</source>
        <translation>已告知顾客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>without follow-up</source>
        <translation>未回访</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>scores</source>
        <translation>评分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>first response in hours</source>
        <translation>首次响应时限（小时）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>alert on a drop of (hundredths)</source>
        <translation>下降提醒阈值（百分之一分）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>batch</source>
        <translation>批次</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>starts</source>
        <translation>开始</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ends</source>
        <translation>结束</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>tiers</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>deleted</source>
        <translation>已删除</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>members moved</source>
        <translation>转移会员数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>up</source>
        <translation>升级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>down</source>
        <translation>降级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>prepaid card rules</source>
        <translation>预付卡规则</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>highest balance</source>
        <translation>余额上限</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>spent first</source>
        <translation>优先扣款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>PIN above</source>
        <translation>需密码金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stop credit after days overdue</source>
        <translation>逾期多少天停止赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>highest suggested limit</source>
        <translation>建议额度上限</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>opening principal</source>
        <translation>期初本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>opening bonus</source>
        <translation>期初赠送金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>opening balances</source>
        <translation>期初储值笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>opening debt</source>
        <translation>期初欠款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>opening debts</source>
        <translation>期初欠款笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>import</source>
        <translation>导入</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>daily copies</source>
        <translation>每日备份份数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>weekly copies</source>
        <translation>每周备份份数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>monthly copies</source>
        <translation>每月备份份数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>second place</source>
        <translation>第二存放位置</translation>
    </message>
    <message>
        <location line="+124"/>
        <source>{label}: {value}</source>
        <translation>{label}：{value}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>no</source>
        <translation>否</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/audit_tab.py" line="-364"/>
        <source>(automatic)</source>
        <translation>（系统自动）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sensitive: personal data left the program, data was erased or restored, or money or points were changed by hand.</source>
        <translation>敏感操作：个人信息被导出或打印、数据被删除或恢复，或手工调整了金额或积分。</translation>
    </message>
</context>
<context>
    <name>check</name>
    <message>
        <location filename="../../crmdesk/services/data_check.py" line="+37"/>
        <source>The database file is damaged (SQLite integrity check)</source>
        <translation>数据库文件已损坏（SQLite 完整性检查）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A row points at a row that does not exist</source>
        <translation>有记录指向不存在的记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points balance differs from the points ledger</source>
        <translation>积分余额与积分流水不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value (principal) differs from the wallet ledger</source>
        <translation>储值本金与储值流水不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value (bonus) differs from the wallet ledger</source>
        <translation>储值赠送余额与储值流水不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Money owed differs from the credit ledger</source>
        <translation>欠款与赊账流水不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visit count differs from the purchases</source>
        <translation>到店次数与消费记录不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Total spend differs from the purchases</source>
        <translation>累计消费与消费记录不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last visit differs from the purchases</source>
        <translation>最近到店时间与消费记录不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A coupon&apos;s use mark differs from its redemption</source>
        <translation>优惠券的使用标记与核销记录不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A balance is below zero</source>
        <translation>有余额小于零</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunds add up to more than their sale</source>
        <translation>退款合计超过原销售额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A debt was settled for more than it was</source>
        <translation>一笔欠款的冲销金额超过欠款本身</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value and credit pay more than the purchase</source>
        <translation>储值和赊账支付超过消费金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A closed member still has a working card</source>
        <translation>已注销的会员仍有有效会员卡</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/backup_tab.py" line="-330"/>
        <source>stored {cached}, its source gives {expected}</source>
        <translation>记录为 {cached}，按来源应为 {expected}</translation>
    </message>
</context>
<context>
    <name>columns</name>
    <message>
        <location filename="../../crmdesk/services/member_query.py" line="+90"/>
        <source>Member no.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Birthday</source>
        <translation>生日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points</source>
        <translation>积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visits</source>
        <translation>到店次数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Spend</source>
        <translation>消费金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last visit</source>
        <translation>最近到店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Joined</source>
        <translation>入会日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value</source>
        <translation>储值余额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owed</source>
        <translation>欠款</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Segment</source>
        <translation>客户分群</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ABC</source>
        <translation>ABC 分类</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stage</source>
        <translation>生命周期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Still a customer</source>
        <translation>留存概率</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>12-month value</source>
        <translation>12 个月预期价值</translation>
    </message>
</context>
<context>
    <name>common</name>
    <message>
        <location filename="../../crmdesk/views/common.py" line="+52"/>
        <source>Cannot do that</source>
        <translation>无法执行此操作</translation>
    </message>
</context>
<context>
    <name>complaints</name>
    <message>
        <location filename="../../crmdesk/services/complaints.py" line="+102"/>
        <source>new</source>
        <translation>新建</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>assigned</source>
        <translation>已指派</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>in progress</source>
        <translation>处理中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>resolved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>followed up</source>
        <translation>已回访</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>closed</source>
        <translation>已结案</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>low</source>
        <translation>低</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>normal</source>
        <translation>普通</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>urgent</source>
        <translation>紧急</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>refund</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>exchange</source>
        <translation>换货</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>apology</source>
        <translation>道歉</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>goodwill points</source>
        <translation>补偿积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>coupon</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+7"/>
        <source>other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>phone call</source>
        <translation>电话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>in person</source>
        <translation>当面</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>text message</source>
        <translation>短信</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WeChat</source>
        <translation>微信</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>Counter</source>
        <translation>服务台</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phone</source>
        <translation>电话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Suggestion box</source>
        <translation>意见箱</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Online message</source>
        <translation>线上留言</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Letter</source>
        <translation>来信</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Product quality</source>
        <translation>商品质量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expired or spoiled goods</source>
        <translation>过期变质商品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Price or checkout error</source>
        <translation>价格或结账差错</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Staff attitude</source>
        <translation>服务态度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Waiting time</source>
        <translation>等候时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Store environment</source>
        <translation>购物环境</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Returns and exchanges</source>
        <translation>退换货</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location line="-32"/>
        <source>Logged</source>
        <translation>已登记</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assigned</source>
        <translation>已指派</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status changed</source>
        <translation>状态变更</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer contacted</source>
        <translation>已联系顾客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Priority changed</source>
        <translation>优先级变更</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Attachment added</source>
        <translation>已添加附件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>已解决</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Followed up</source>
        <translation>已回访</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed</source>
        <translation>已结案</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed without follow-up</source>
        <translation>未回访即结案</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reopened</source>
        <translation>已重新打开</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../../crmdesk/commands/common.py" line="+30"/>
        <source>No terminal to ask for the secret: pipe it in and add --password-stdin or --pin-stdin.</source>
        <translation>没有可用于输入密码或PIN码的终端：请通过管道传入，并加上 --password-stdin 或 --pin-stdin 参数。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The two entries differ; nothing was changed.</source>
        <translation>两次输入不一致，未做任何更改。</translation>
    </message>
    <message>
        <location line="+45"/>
        <location filename="../../crmdesk/services/purchase_imports.py" line="+175"/>
        <source>Card {number} is {status} (member {member_no}); use the member&apos;s current card or phone.</source>
        <translation>会员卡{number}状态为{status}（会员{member_no}），请使用该会员当前的卡或手机号。</translation>
    </message>
    <message>
        <location line="+4"/>
        <location filename="../../crmdesk/services/purchase_imports.py" line="-1"/>
        <location filename="../../crmdesk/views/offers_page.py" line="-116"/>
        <source>No member with the card, member number or phone {key}.</source>
        <translation>没有卡号、会员编号或手机号为{key}的会员。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/db.py" line="+66"/>
        <source>Give either --db or --database-url, not both.</source>
        <translation>--db 和 --database-url 只能指定其中一个，不能同时使用。</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>&apos;{url}&apos; is not a database URL (expected e.g. postgresql+psycopg://user@host/crmdesk).</source>
        <translation>“{url}”不是有效的数据库地址（应类似 postgresql+psycopg://user@host/crmdesk）。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>An in-memory database cannot hold a store; give a file path.</source>
        <translation>内存数据库无法保存门店数据，请指定一个文件路径。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{path} is a folder, not a database file.</source>
        <translation>{path} 是文件夹，不是数据库文件。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cannot read and write {path}: check the file&apos;s permissions.</source>
        <translation>无法读写 {path}：请检查该文件的权限。</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+156"/>
        <source>{path} is not a crmdesk database (it is not an SQLite file).</source>
        <translation>{path} 不是 crmdesk 数据库（不是 SQLite 文件）。</translation>
    </message>
    <message>
        <location line="-150"/>
        <source>Cannot create {path}: the folder {folder} does not exist.</source>
        <translation>无法创建 {path}：文件夹 {folder} 不存在。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cannot create {path}: the folder {folder} is not writable.</source>
        <translation>无法创建 {path}：没有文件夹 {folder} 的写入权限。</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>No driver for {url}: {detail}. For PostgreSQL install crmdesk[postgres].</source>
        <translation>没有可用于 {url} 的数据库驱动：{detail}。如需使用 PostgreSQL，请安装 crmdesk[postgres]。</translation>
    </message>
    <message>
        <location line="+59"/>
        <location filename="../../crmdesk/services/server.py" line="+168"/>
        <source>{path} is not a crmdesk database (it holds other tables).</source>
        <translation>{path} 不是 crmdesk 数据库（其中包含其他数据表）。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{path} was written by a newer version of crmdesk (schema {revision}). Install the newer crmdesk to open it.</source>
        <translation>{path} 由较新版本的 crmdesk 创建（数据库结构版本 {revision}）。请安装新版 crmdesk 后再打开。</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Upgrading {path} would break {count} references; nothing was changed.</source>
        <translation>升级 {path} 会破坏{count}处数据关联，未做任何更改。</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Cannot open the database {path}: {detail}</source>
        <translation>无法打开数据库 {path}：{detail}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/errors.py" line="+88"/>
        <source>This database has no owner yet. Run &apos;crmdesk init --owner NAME&apos; or start the app to set it up.</source>
        <translation>此数据库尚未设置店主。请运行“crmdesk init --owner 店主姓名”，或启动程序进行设置。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/auth.py" line="+75"/>
        <source>{name} may not change the store settings; ask a supervisor or the owner.</source>
        <translation>{name}无权修改门店设置，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not manage staff accounts; ask the owner.</source>
        <translation>{name}无权管理员工账号，请联系店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not freeze, close or reopen members; ask a supervisor or the owner.</source>
        <translation>{name}无权冻结、注销或恢复会员，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not merge members; ask a supervisor or the owner.</source>
        <translation>{name}无权合并会员，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not browse the member list; ask a supervisor or the owner.</source>
        <translation>{name}无权浏览会员列表，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not export members&apos; data; ask the owner.</source>
        <translation>{name}无权导出会员资料，请联系店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not import members; ask a supervisor or the owner.</source>
        <translation>{name}无权导入会员，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not import purchases; ask a supervisor or the owner.</source>
        <translation>{name}无权导入消费记录，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not create or change offers; ask a supervisor or the owner.</source>
        <translation>{name}无权创建或修改优惠活动，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not change the points rules or tiers; ask the owner.</source>
        <translation>{name}无权修改积分规则或会员等级，请联系店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not adjust points by hand; ask a supervisor or the owner.</source>
        <translation>{name}无权手动调整积分，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may only work complaints they own or that nobody owns yet; ask a supervisor or the owner.</source>
        <translation>{name}只能处理自己负责或尚无负责人的投诉；请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not give goodwill points or coupons for a complaint; ask a supervisor or the owner.</source>
        <translation>{name}无权为投诉发放补偿积分或优惠券；请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not close a complaint without its follow-up; ask a supervisor or the owner.</source>
        <translation>{name}无权在未回访的情况下结案；请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not change the complaint and survey settings; ask the owner.</source>
        <translation>{name}无权修改投诉和满意度调查设置；请联系店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not see the shop&apos;s figures; ask a supervisor or the owner.</source>
        <translation>{name} 无权查看门店经营数据；请找主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not pay out a stored-value balance; ask a supervisor or the owner.</source>
        <translation>{name}无权办理退卡退款，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not grant, change or freeze credit; ask a supervisor or the owner.</source>
        <translation>{name}无权开通、修改或停止赊账，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not correct a member&apos;s money by hand; ask the owner.</source>
        <translation>{name}无权手动调整会员的储值或欠款，请联系店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not write off a debt; ask the owner.</source>
        <translation>{name}无权核销坏账，请联系店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not change the top-up bonuses or the money settings; ask the owner.</source>
        <translation>{name}无权修改充值赠送或储值赊账设置，请联系店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not give out a member&apos;s copy of their data; ask a supervisor or the owner.</source>
        <translation>{name} 无权导出会员的个人数据副本；请找主管或店主。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not erase a member&apos;s personal data; ask the owner.</source>
        <translation>{name} 无权删除会员的个人信息；请找店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not change backups, restore or repair the data; ask the owner.</source>
        <translation>{name} 无权更改备份、恢复或修复数据；请找店主。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} may not read the audit log; ask the owner.</source>
        <translation>{name} 无权查看操作记录；请找店主。</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>The password must have at least {count} characters.</source>
        <translation>密码至少需要{count}个字符。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>A PIN is 4 to 6 digits.</source>
        <translation>PIN码应为4至6位数字。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Wrong name, password or PIN.</source>
        <translation>姓名、密码或PIN码错误。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name} is locked after too many wrong attempts. Try again in {minutes} min, or ask the owner to reset the PIN.</source>
        <translation>{name}因多次输入错误已被锁定。请在{minutes}分钟后重试，或请店主重置PIN码。</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Too many wrong attempts: {name} is locked for {minutes} min.</source>
        <translation>输入错误次数过多：{name}已被锁定{minutes}分钟。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Wrong name, password or PIN. Attempts left before a lock-out: {left}.</source>
        <translation>姓名、密码或PIN码错误。再错{left}次将锁定账号。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/cards.py" line="+60"/>
        <source>The card number prefix must be two digits from 20 to 29 (GS1 in-store numbers), not &apos;{prefix}&apos;.</source>
        <translation>会员卡号前缀必须是20至29之间的两位数字（GS1店内编码），不能是“{prefix}”。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>A card serial must be a whole number from {low} to {high}, not {serial}.</source>
        <translation>会员卡序号必须是{low}至{high}之间的整数，不能是{serial}。</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Scan or type the card number.</source>
        <translation>请扫描或输入卡号。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/services/imports.py" line="+122"/>
        <source>A card number may have at most 32 characters.</source>
        <translation>卡号最多32个字符。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Card number {number} has a wrong check digit: it was probably mistyped.</source>
        <translation>卡号{number}的校验位不对，可能输错了。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{number} is not a card of this store (13 digits starting 20-29). Cards of an old system come in by import.</source>
        <translation>{number}不是本店的会员卡（13位数字，以20至29开头）。旧系统的卡请通过导入录入。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Card {number} already belongs to {member}; a card number is never given to anyone else.</source>
        <translation>会员卡{number}已属于{member}，卡号不能再给其他人使用。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/card_faces.py" line="+103"/>
        <location filename="../../crmdesk/services/cards.py" line="+37"/>
        <location line="+23"/>
        <location filename="../../crmdesk/services/complaints.py" line="+738"/>
        <location filename="../../crmdesk/services/credit.py" line="+247"/>
        <location line="+155"/>
        <location line="+299"/>
        <location line="+46"/>
        <location filename="../../crmdesk/services/loyalty.py" line="+329"/>
        <location filename="../../crmdesk/services/members.py" line="+436"/>
        <location filename="../../crmdesk/services/money_figures.py" line="+288"/>
        <location filename="../../crmdesk/services/offers.py" line="+598"/>
        <location line="+126"/>
        <location filename="../../crmdesk/services/privacy.py" line="+131"/>
        <location filename="../../crmdesk/services/purchases.py" line="+141"/>
        <location line="+451"/>
        <location filename="../../crmdesk/services/surveys.py" line="+209"/>
        <location filename="../../crmdesk/services/wallet.py" line="+153"/>
        <location line="+133"/>
        <location line="+11"/>
        <source>No member with id {id}.</source>
        <translation>没有编号为{id}的会员。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/cards.py" line="-21"/>
        <source>{member} is closed; reopen the membership before issuing a card.</source>
        <translation>{member}已注销，请先恢复会员资格再发卡。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{member} already has the working card {number}; replace it instead.</source>
        <translation>{member}已有在用的会员卡{number}，请改为换卡。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Card {number} is not in use any more (it is {status}).</source>
        <translation>会员卡{number}已停用（状态：{status}）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/staff.py" line="+58"/>
        <source>Enter the staff member&apos;s name.</source>
        <translation>请输入员工姓名。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/complaints.py" line="-714"/>
        <source>No complaint with id {id}.</source>
        <translation>找不到编号为 {id} 的投诉。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Complaint {id} is {from_status}; it cannot be moved to {to_status}.</source>
        <translation>投诉 {id} 当前状态为“{from_status}”，不能改为“{to_status}”。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The text is too long: at most {count} characters.</source>
        <translation>文字太长：最多 {count} 个字。</translation>
    </message>
    <message>
        <location line="+281"/>
        <source>Nothing in the list has the code &apos;{code}&apos;.</source>
        <translation>列表中没有代码为“{code}”的条目。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Nothing in the list is called &apos;{key}&apos;.</source>
        <translation>列表中没有名为“{key}”的条目。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Enter a name.</source>
        <translation>请输入名称。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/services/staff.py" line="+3"/>
        <source>A name may have at most {count} characters.</source>
        <translation>姓名最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{name}&apos; is already in the list.</source>
        <translation>“{name}”已在列表中。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>A code is 1 to 40 lower-case letters, digits or underscores.</source>
        <translation>代码须为 1 到 40 个小写字母、数字或下划线。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The code &apos;{code}&apos; is already taken.</source>
        <translation>代码“{code}”已被使用。</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>The list needs at least one entry that is switched on.</source>
        <translation>列表中至少要有一个已启用的条目。</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>Resolution days must be from 0 (the same day) to {max}.</source>
        <translation>解决天数须在 0（当天）到 {max} 之间。</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>The first response must be due within 1 to {max} hours.</source>
        <translation>首次响应期限须在 1 到 {max} 小时之间。</translation>
    </message>
    <message>
        <location line="+78"/>
        <source>No attachment with id {id}.</source>
        <translation>找不到编号为 {id} 的附件。</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>The time needs a time zone.</source>
        <translation>时间须带有时区。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The time {time} lies in the future.</source>
        <translation>时间 {time} 晚于当前时间，请检查。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&apos;{code}&apos; is not a channel in use.</source>
        <translation>“{code}”不是正在使用的渠道。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&apos;{code}&apos; is not a complaint category in use.</source>
        <translation>“{code}”不是正在使用的投诉类别。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&apos;{phone}&apos; is not a phone number.</source>
        <translation>“{phone}”不是有效的电话号码。</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>No purchase with id {id} for this customer.</source>
        <translation>此顾客没有编号为 {id} 的购买记录。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>An attachment needs a file name.</source>
        <translation>附件需要有文件名。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&apos;{name}&apos; is not a photo or a PDF scan; attach JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or PDF files.</source>
        <translation>“{name}”不是照片或 PDF 扫描件；请添加 JPEG、PNG、GIF、WebP、BMP、TIFF、HEIC 或 PDF 文件。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>The file &apos;{name}&apos; is empty.</source>
        <translation>文件“{name}”是空的。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The file &apos;{name}&apos; has {size} MB; an attachment may have at most {max} MB.</source>
        <translation>文件“{name}”大小为 {size} MB；每个附件最大 {max} MB。</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>A complaint comes from a member or from a walk-in customer, not both.</source>
        <translation>一条投诉只能来自会员或散客（非会员）其中之一，不能两者都填。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Describe the complaint.</source>
        <translation>请描述投诉内容。</translation>
    </message>
    <message>
        <location line="+89"/>
        <source>Complaint {id} is closed; reopen it first.</source>
        <translation>投诉 {id} 已结案；请先重新打开。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Name the staff member or the department to assign the complaint to.</source>
        <translation>请指定负责处理此投诉的员工或部门。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>No active staff member with id {id}.</source>
        <translation>找不到编号为 {id} 的在职员工。</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>Write the note.</source>
        <translation>请填写备注。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Say what was done: a refund, exchange, apology, compensation or something else.</source>
        <translation>请说明处理方式：退款、换货、道歉、补偿或其他。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Describe the other remedy in the note.</source>
        <translation>请在备注中说明其他处理方式。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Goodwill compensation must be a positive number of points.</source>
        <translation>补偿积分必须为正数。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{points} goodwill points is not plausible (at most {max}); check the number.</source>
        <translation>补偿积分 {points} 不合理（最多 {max}）；请检查数值。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Choose the coupon offer to give.</source>
        <translation>请选择要发放的优惠券活动。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The refund amount is not plausible; check it.</source>
        <translation>退款金额不合理；请检查。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Compensation goes to a member; this complaint is from a walk-in customer.</source>
        <translation>补偿只能给会员；此投诉来自散客（非会员）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name}&apos;s membership is {status}; no compensation can be given.</source>
        <translation>{name}的会员状态为“{status}”，无法给予补偿。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Complaint {id} was already compensated (points: {points}, coupons: {coupons}); give more only as additional compensation.</source>
        <translation>投诉 {id} 已给予过补偿（积分：{points}，优惠券：{coupons}）；如需再给，请作为追加补偿处理。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>The offer &apos;{name}&apos; is switched off or over; choose another coupon.</source>
        <translation>优惠活动“{name}”已停用或已结束；请选择其他优惠券。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Satisfaction runs from 1 (very dissatisfied) to 5 (very satisfied); {score} is not on the scale.</source>
        <translation>满意度范围为 1（非常不满意）到 5（非常满意）；{score} 不在此范围内。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The follow-up cannot come before the complaint was resolved.</source>
        <translation>回访时间不能早于投诉解决时间。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Complaint {id} has had no follow-up yet: record the follow-up first, or a supervisor closes it with the reason for skipping it.</source>
        <translation>投诉 {id} 尚未回访：请先记录回访，或由主管填写不回访的原因后结案。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Give the reason for skipping the follow-up.</source>
        <translation>请填写不回访的原因。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Complaint {id} was followed up already; there is no follow-up to skip.</source>
        <translation>投诉 {id} 已回访过，无需跳过回访。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Complaint {id} is {status}; only a resolved or closed complaint can be reopened.</source>
        <translation>投诉 {id} 当前状态为“{status}”；只有已解决或已结案的投诉才能重新打开。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Give the reason for reopening the complaint.</source>
        <translation>请填写重新打开投诉的原因。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/staff.py" line="+13"/>
        <source>Give the new account a PIN or a password.</source>
        <translation>请为新账号设置PIN码或密码。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>There is already a staff member called {name}; choose another name.</source>
        <translation>已有名为{name}的员工，请换一个姓名。</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>No staff member with id {id}.</source>
        <translation>找不到编号为{id}的员工。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No staff member called {name}.</source>
        <translation>找不到名为{name}的员工。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>You cannot disable your own account.</source>
        <translation>不能停用您自己的账号。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} is the only owner; the store needs at least one.</source>
        <translation>{name}是唯一的店主，门店至少需要一位店主。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>No active staff member called {name}.</source>
        <translation>找不到名为{name}的已启用员工。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/store.py" line="+64"/>
        <source>Enter the store&apos;s name.</source>
        <translation>请输入门店名称。</translation>
    </message>
    <message>
        <location line="-45"/>
        <source>The store name may have at most {count} characters.</source>
        <translation>门店名称最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>The address may have at most {count} characters.</source>
        <translation>地址最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The phone number may have at most {count} characters.</source>
        <translation>电话号码最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>This database is already set up; sign in as its owner.</source>
        <translation>此数据库已完成设置，请以店主身份登录。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/setup.py" line="+76"/>
        <location filename="../../crmdesk/services/demo.py" line="+436"/>
        <source>The number of demo members must be from 1 to {max}.</source>
        <translation>演示会员数量必须在1到{max}之间。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/demo.py" line="+7"/>
        <source>This database already holds members, purchases or complaints. Use --force to replace them with demo data, or --db to write the demo to another file.</source>
        <translation>此数据库中已有会员、消费记录或投诉。如要用演示数据替换，请加 --force；或用 --db 将演示数据写入另一个文件。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/cards.py" line="+74"/>
        <location filename="../../crmdesk/services/cards.py" line="-17"/>
        <source>No card with the number {number}.</source>
        <translation>没有卡号为 {number} 的卡。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/member_filters.py" line="+48"/>
        <source>{option} needs a date like 2026-11-22, not &apos;{value}&apos;.</source>
        <translation>{option} 需要形如 2026-11-22 的日期，而不是“{value}”。</translation>
    </message>
    <message>
        <location line="+10"/>
        <location filename="../../crmdesk/services/member_query.py" line="+92"/>
        <source>The birthday month must be from 1 to 12, not {month}.</source>
        <translation>生日月份应为 1 到 12，不能是 {month}。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Unknown member status &apos;{status}&apos;; use active, frozen or closed.</source>
        <translation>未知的会员状态“{status}”；请用 active、frozen 或 closed。</translation>
    </message>
    <message>
        <location line="+36"/>
        <location filename="../../crmdesk/services/money.py" line="+32"/>
        <source>&apos;{amount}&apos; is not an amount in yuan (for example 100 or 99.50).</source>
        <translation>“{amount}”不是以元为单位的金额（例如 100 或 99.50）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/members.py" line="+99"/>
        <source>Card {number} is {status} (since {date}) and no longer opens member {name} ({member_no}). Use the member number or phone.</source>
        <translation>卡 {number} 状态为 {status}（自 {date} 起），不再对应会员{name}（{member_no}）。请使用会员编号或手机号。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>No member has the card number, member number or phone &apos;{key}&apos;.</source>
        <translation>没有卡号、会员编号或手机号为“{key}”的会员。</translation>
    </message>
    <message>
        <location line="+221"/>
        <source>--limit must be from 1 to {count}.</source>
        <translation>--limit 必须在 1 到 {count} 之间。</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>--reason goes with --status.</source>
        <translation>--reason 须与 --status 一起使用。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nothing to change: give at least one option such as --name or --status.</source>
        <translation>没有要修改的内容：请至少给出一个选项，例如 --name 或 --status。</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>No terminal to type the member&apos;s name on: run the command at a terminal, or add --yes to erase without it.</source>
        <translation>没有可输入会员姓名的终端：请在终端中运行该命令，或加上 --yes 直接删除。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/purchases.py" line="+78"/>
        <source>&apos;{text}&apos; is not a time (e.g. 2026-11-22T14:30).</source>
        <translation>“{text}”不是有效的时间（例如 2026-11-22T14:30）。</translation>
    </message>
    <message>
        <location line="+86"/>
        <source>No terminal to ask for the secret: pipe it in and add {option}.</source>
        <translation>没有可用于输入密码或PIN码的终端：请通过管道传入，并加上 {option} 参数。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>{option} goes with {other}.</source>
        <translation>{option} 须与 {other} 一起使用。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/exports.py" line="+56"/>
        <source>Unknown columns: {columns}. Choose from: {known}.</source>
        <translation>未知的列：{columns}。可选：{known}。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Export to a file ending in .csv or .xlsx, not &apos;{name}&apos;.</source>
        <translation>请导出为 .csv 或 .xlsx 文件，而不是“{name}”。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/documents.py" line="+121"/>
        <source>Save the report to a file ending in .pdf, not &apos;{name}&apos;.</source>
        <translation>报告须保存为以 .pdf 结尾的文件，不能是“{name}”。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/exports.py" line="+9"/>
        <source>Cannot write {path}: the folder {folder} does not exist.</source>
        <translation>无法写入 {path}：文件夹 {folder} 不存在。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/audit.py" line="-222"/>
        <source>The first day ({first}) comes after the last day ({last}).</source>
        <translation>开始日期（{first}）晚于结束日期（{last}）。</translation>
    </message>
    <message>
        <location line="+124"/>
        <source>Show from 1 to {most} events at a time.</source>
        <translation>每次可显示 1 到 {most} 条记录。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Start from event 0 or later.</source>
        <translation>起始位置不能小于 0。</translation>
    </message>
    <message>
        <location line="+131"/>
        <location filename="../../crmdesk/services/exports.py" line="+274"/>
        <location line="+6"/>
        <source>The export was cancelled; no file was written.</source>
        <translation>导出已取消，未写入任何文件。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/import_engine.py" line="+54"/>
        <source>The file has no column {missing}. Columns found: {found}.</source>
        <translation>文件缺少{missing}列。找到的列：{found}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Nothing was imported: {count} rows are invalid. Correct them, or skip the invalid rows.
{errors}</source>
        <translation>未导入任何数据：有{count}行无效。请改正，或跳过无效行。
{errors}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Nothing was imported: 1 row is invalid. Correct it, or skip the invalid row.
{errors}</source>
        <translation>未导入任何数据：有1行无效。请改正，或跳过这一行。
{errors}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The import was cancelled; nothing was changed.</source>
        <translation>导入已取消，未作任何更改。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot write the rejected rows to {path}: {detail}</source>
        <translation>无法把无效行写入 {path}：{detail}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Row {row}, column {column}: {reason}</source>
        <translation>第{row}行，{column}列：{reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Row {row}: {reason}</source>
        <translation>第{row}行：{reason}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/imports.py" line="-10"/>
        <source>&apos;{value}&apos; is not a date; write it like 2024-03-01.</source>
        <translation>“{value}”不是日期，请写成2024-03-01这样的格式。</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/services/members.py" line="-111"/>
        <source>&apos;{value}&apos; is not a real date: that day does not exist.</source>
        <translation>“{value}”不是真实的日期：日历上没有这一天。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points must be a whole number of 0 or more, not &apos;{value}&apos;.</source>
        <translation>积分必须是不小于0的整数，不能是“{value}”。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&apos;{value}&apos; is not a gender: write 男 or 女 (or M or F), or leave it empty.</source>
        <translation>“{value}”不是性别：请填男或女（或M、F），也可留空。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Excel shortened this number to &apos;{value}&apos;: format the column as text, enter the numbers again and save.</source>
        <translation>Excel把这个号码缩写成了“{value}”：请把该列设为文本格式，重新输入号码后保存。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Excel stored {value} as a number and may have rounded it: format the column as text and enter the numbers again.</source>
        <translation>Excel把{value}存成了数字，可能已被舍入：请把该列设为文本格式并重新输入号码。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{value} is already on row {other_row} of this file.</source>
        <translation>{value}已出现在本文件第{other_row}行。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{value} belongs to {other}, but {matched_column} {matched_value} belongs to {member}.</source>
        <translation>{value}属于{other}，但{matched_column} {matched_value}属于{member}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This row is the same member {member} as row {other_row}.</source>
        <translation>这一行与第{other_row}行是同一位会员{member}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{member} already has the working card {number}; replace the card in crmdesk instead.</source>
        <translation>{member}已有在用的卡{number}；请在crmdesk中办理换卡。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/import_engine.py" line="-12"/>
        <source>These columns are not imported: {columns}.</source>
        <translation>以下列不导入：{columns}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The column {column} is not imported: the column {used} already gives that.</source>
        <translation>{column}列不导入：{used}列已提供该信息。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/imports.py" line="+4"/>
        <source>The file gives {points} points, crmdesk has a balance of {balance}; the balance is kept.</source>
        <translation>文件中积分为{points}，crmdesk中现有积分为{balance}；保留crmdesk的积分。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The member number {member_no} differs from {current} in crmdesk; crmdesk&apos;s is kept.</source>
        <translation>会员编号{member_no}与crmdesk中的{current}不同；保留crmdesk的编号。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The join date {date} differs from {current} in crmdesk; crmdesk&apos;s is kept.</source>
        <translation>入会日期{date}与crmdesk中的{current}不同；保留crmdesk的日期。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{member} is closed; an import leaves closed members as they are.</source>
        <translation>{member}已注销；导入不会改动已注销的会员。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>An amount brought over cannot be negative, not &apos;{value}&apos;.</source>
        <translation>导入的期初金额不能为负数，不能是“{value}”。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A member&apos;s stored value may not exceed {cap} under the prepaid card rules; the file gives {amount}.</source>
        <translation>按预付卡规定，会员储值余额不得超过 {cap}；文件中为 {amount}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The file gives a stored value of {amount}, crmdesk has {balance}; crmdesk&apos;s is kept.</source>
        <translation>文件中储值余额为 {amount}，crmdesk中为 {balance}；保留crmdesk的余额。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The file gives a debt of {amount}, crmdesk has {owed}; crmdesk&apos;s is kept.</source>
        <translation>文件中欠款为 {amount}，crmdesk中为 {owed}；保留crmdesk的欠款。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The stored value or debt of {member} changed while the file was imported; nothing was imported. Check the file again.</source>
        <translation>导入文件期间，{member}的储值或欠款发生了变化；本次未导入任何数据。请重新检查文件。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} with the birthday {birthday} may already be a member ({member_no}); a new member is registered anyway.</source>
        <translation>生日为{birthday}的{name}可能已是会员（{member_no}）；仍会登记为新会员。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/loyalty.py" line="-122"/>
        <source>Points per yuan must be from 1 to 100.</source>
        <translation>每元积分必须在1到100之间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The points needed for ¥1 off must be from 1 to 100000.</source>
        <translation>抵扣¥1所需积分必须在1到100000之间。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points must last from 1 to 120 months.</source>
        <translation>积分有效期必须在1到120个月之间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The bonus-day multiplier must be from 100 % to 1000 %.</source>
        <translation>积分加倍日的倍数必须在100%到1000%之间。</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/services/offers.py" line="-392"/>
        <source>Weekdays run from 0 (Monday) to 6 (Sunday).</source>
        <translation>星期的取值为0（星期一）到6（星期日）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A category earns from 0 % to 1000 %.</source>
        <translation>品类积分比例必须在0%到1000%之间。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>A category is listed twice.</source>
        <translation>有品类重复列出。</translation>
    </message>
    <message>
        <location line="+5"/>
        <location filename="../../crmdesk/views/offers_page.py" line="-399"/>
        <source>&apos;{date}&apos; is not a date (YYYY-MM-DD).</source>
        <translation>“{date}”不是有效的日期（格式：年-月-日）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/credit.py" line="-410"/>
        <location filename="../../crmdesk/services/wallet.py" line="+25"/>
        <source>Give the reason.</source>
        <translation>请填写原因。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+354"/>
        <location filename="../../crmdesk/services/loyalty.py" line="+108"/>
        <location filename="../../crmdesk/services/wallet.py" line="+2"/>
        <source>The note is too long: at most {count} characters.</source>
        <translation>备注太长：最多 {count} 个字。</translation>
    </message>
    <message>
        <location line="-344"/>
        <source>A credit limit runs from ¥0.00 to ¥1,000,000.00.</source>
        <translation>赊账额度必须在¥0.00到¥1,000,000.00之间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Credit is due within 1 to 365 days.</source>
        <translation>还款期限必须在1到365天之间。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name}&apos;s membership is {status}: no credit can be granted.</source>
        <translation>{name}的会员状态为{status}，不能开通赊账。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>This member has no credit account.</source>
        <translation>该会员未开通赊账。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>A member for {months} months.</source>
        <translation>入会 {months} 个月。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{visits} visits and {spend} spent in the last 12 months ({monthly} a month).</source>
        <translation>近 12 个月到店 {visits} 次，消费 {spend}（每月 {monthly}）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Too new or too few visits to give credit yet (at least 3 months and 6 visits).</source>
        <translation>入会时间太短或到店次数太少，暂不建议赊账（至少入会 3 个月且到店 6 次）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repaid on time before: the suggestion is one month of spending, and more for long-standing members.</source>
        <translation>以往按时还款：建议额度为一个月的消费额，老会员可更高。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repaid late before (up to {days} days): the suggestion is halved.</source>
        <translation>以往曾逾期还款（最长 {days} 天）：建议额度减半。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A debt was written off before: no credit is suggested.</source>
        <translation>以往有坏账核销：不建议赊账。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Capped at the shop&apos;s highest suggested limit, {cap}.</source>
        <translation>已按本店建议赊账额度上限 {cap} 封顶。</translation>
    </message>
    <message>
        <location line="+88"/>
        <source>{name}&apos;s membership is {status}: nothing can be bought on credit.</source>
        <translation>{name}的会员状态为{status}，不能赊账消费。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name} has no credit: a supervisor or the owner grants it first.</source>
        <translation>{name}未开通赊账：须先由主管或店主开通。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name} may not approve credit beyond the limit; ask a supervisor or the owner.</source>
        <translation>{name}无权批准超额赊账，请联系主管或店主。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name}&apos;s credit is stopped: {reason}</source>
        <translation>{name}已停止赊账：{reason}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name} is {days} days overdue: new credit waits until the debt is paid.</source>
        <translation>{name}已逾期 {days} 天：还清欠款前不能再赊账。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name} has {available} of credit left (limit {limit}, owed {owed}); {amount} on credit needs a supervisor&apos;s approval.</source>
        <translation>{name}剩余赊账额度 {available}（额度 {limit}，欠款 {owed}）；赊账 {amount} 须经主管批准。</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>A repayment is made in cash, by WeChat Pay, Alipay or bank card, not &apos;{method}&apos;.</source>
        <translation>还款只能用现金、微信支付、支付宝或银行卡，不能用“{method}”。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{name} owes {owed}; {amount} is more than that.</source>
        <translation>{name}欠款 {owed}；{amount} 超过了欠款金额。</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>{name} owes {owed}: write off more than ¥0.00 and at most that.</source>
        <translation>{name}欠款 {owed}：核销金额须大于¥0.00，且不超过欠款。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>An opening debt cannot be negative.</source>
        <translation>期初欠款不能为负数。</translation>
    </message>
    <message>
        <location line="+90"/>
        <source>&apos;{channel}&apos; is not a way of contact (phone, visit, sms, wechat, other).</source>
        <translation>“{channel}”不是有效的联系方式（phone、visit、sms、wechat、other）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Write what was said.</source>
        <translation>请填写沟通内容。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>A promise is for a day to come, not {date}.</source>
        <translation>承诺还款日须是今后的日期，不能是 {date}。</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>The period ends before it starts.</source>
        <translation>期间的结束日期早于开始日期。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/loyalty.py" line="+12"/>
        <source>Redeem a positive number of points.</source>
        <translation>兑换的积分必须大于0。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name}&apos;s membership is {status}; points cannot be used.</source>
        <translation>{name}的会员状态为{status}，不能使用积分。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name} has {balance} points; {points} cannot be redeemed.</source>
        <translation>{name}只有{balance}积分，不能兑换{points}积分。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Give the reason for the adjustment.</source>
        <translation>请填写调整原因。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>An adjustment must add or take away points.</source>
        <translation>调整的积分不能为0。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{name} has {balance} points; taking away {points} would leave a negative balance.</source>
        <translation>{name}只有{balance}积分，扣减{points}积分后积分将为负数。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/insight_figures.py" line="+135"/>
        <source>There is no group &apos;{key}&apos; of &apos;{kind}&apos;.</source>
        <translation>没有“{kind}”下的分组“{key}”。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>There is no tier called {name}.</source>
        <translation>没有名为 {name} 的等级。</translation>
    </message>
    <message>
        <location line="+82"/>
        <source>Group by day, week or month, not &apos;{grain}&apos;.</source>
        <translation>请按日、按周或按月汇总，而不是“{grain}”。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/services/member_query.py" line="-7"/>
        <source>The date range is reversed: {start} comes after {end}.</source>
        <translation>日期范围颠倒了：{start} 晚于 {end}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>That is more than {count} bars; group by a longer period.</source>
        <translation>柱子超过 {count} 根；请按更长的周期汇总。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/member_query.py" line="+13"/>
        <source>The minimum spend {low} is higher than the maximum {high}.</source>
        <translation>最低消费 {low} 高于最高消费 {high}。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The least stored value cannot be negative.</source>
        <translation>储值余额下限不能为负数。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Unknown {name}: {values}. Choose from: {known}.</source>
        <translation>未知的 {name}：{values}。可选：{known}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A probability is from 0 to 100%, not {value}%.</source>
        <translation>概率应在 0 到 100% 之间，而不是 {value}%。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The least expected value cannot be negative.</source>
        <translation>预期价值下限不能为负数。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The search text may have at most {count} characters.</source>
        <translation>搜索内容最多 {count} 个字符。</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>The saved filter cannot be read.</source>
        <translation>无法读取保存的筛选条件。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>The saved filter has an unreadable {name}: {value}.</source>
        <translation>保存的筛选条件中 {name} 无法读取：{value}。</translation>
    </message>
    <message>
        <location line="+301"/>
        <source>Cannot sort by &apos;{sort}&apos;; choose one of: {keys}.</source>
        <translation>无法按“{sort}”排序；可选：{keys}。</translation>
    </message>
    <message>
        <location line="+216"/>
        <source>There is no tier named &apos;{name}&apos;. Tiers: {names}.</source>
        <translation>没有名为“{name}”的等级。现有等级：{names}。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Give the group a name.</source>
        <translation>请为分组命名。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A group name may have at most {count} characters.</source>
        <translation>分组名称最多 {count} 个字符。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>A group named &apos;{name}&apos; already exists.</source>
        <translation>已有名为“{name}”的分组。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>There is no saved group named &apos;{name}&apos;.</source>
        <translation>没有名为“{name}”的已保存分组。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>No saved group with id {id}.</source>
        <translation>没有编号为 {id} 的已保存分组。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/members.py" line="-109"/>
        <source>&apos;{phone}&apos; is not a mobile number in use in China: check the first digits.</source>
        <translation>“{phone}”不是国内在用的手机号段，请核对前几位。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&apos;{phone}&apos; is not a valid mobile number: a mainland number has 11 digits and starts with 1 ({count} digits given).</source>
        <translation>“{phone}”不是有效的手机号：大陆手机号为11位、以1开头（现为{count}位）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{phone}&apos; is not a valid mobile number: a mainland number has 11 digits and starts with 1 (1 digit given).</source>
        <translation>“{phone}”不是有效的手机号：大陆手机号为11位、以1开头（现为1位）。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&apos;{phone}&apos; is not a valid phone number. Numbers outside the mainland start with + and the country code.</source>
        <translation>“{phone}”不是有效的电话号码。境外号码请以+和国家/地区代码开头。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>&apos;{phone}&apos; is a landline; enter the member&apos;s mobile number (11 digits starting with 1).</source>
        <translation>“{phone}”是固定电话，请输入会员的手机号（11位、以1开头）。</translation>
    </message>
    <message>
        <location line="+49"/>
        <source>The tag &apos;{tag}&apos; is too long (at most {count} characters).</source>
        <translation>标签“{tag}”太长（最多{count}个字符）。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Enter the member&apos;s name.</source>
        <translation>请输入会员姓名。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&apos;{label}&apos; may have at most {count} characters.</source>
        <translation>“{label}”最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>&apos;{email}&apos; is not an e-mail address.</source>
        <translation>“{email}”不是有效的电子邮箱。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&apos;{value}&apos; is not a date; write it like 1985-06-02 (also 1985/6/2, 1985.6.2, 19850602 or 1985年6月2日).</source>
        <translation>“{value}”不是日期，请写成 1985-06-02 这样的格式（也可写 1985/6/2、1985.6.2、19850602 或 1985年6月2日）。</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>The birthday {date} is impossible: it must lie between 1900 and today.</source>
        <translation>生日{date}不合理：必须在1900年到今天之间。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>The join date {date} lies in the future.</source>
        <translation>入会日期{date}晚于今天。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>A member number may have at most 32 characters.</source>
        <translation>会员编号最多32个字符。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Member {member_no}&apos;s personal data was erased on request; the record cannot be changed or reopened. Register the person again as a new member.</source>
        <translation>会员 {member_no} 的个人信息已应本人要求删除；该记录不能再修改或重新启用。如需要，请把此人重新登记为新会员。</translation>
    </message>
    <message>
        <location line="+118"/>
        <source>The phone {phone} already belongs to member {name} ({member_no}).</source>
        <translation>手机号{phone}已属于会员{name}（{member_no}）。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{name} with the birthday {birthday} may already be a member ({member_no}). Open that member, or confirm this is someone else.</source>
        <translation>生日为{birthday}的{name}可能已是会员（{member_no}）。请打开该会员，或确认这是另一个人。</translation>
    </message>
    <message>
        <location line="+63"/>
        <source>The member number {member_no} is already in use.</source>
        <translation>会员编号{member_no}已被使用。</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>These fields cannot be changed here: {fields}.</source>
        <translation>这些字段不能在此修改：{fields}。</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>The phone {phone} now belongs to member {name} ({member_no}); change one of the numbers first.</source>
        <translation>手机号{phone}现属于会员{name}（{member_no}），请先修改其中一个号码。</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Choose two different members to merge.</source>
        <translation>请选择两个不同的会员进行合并。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name} ({member_no}) is closed; merge into a member who is not.</source>
        <translation>{name}（{member_no}）已注销，请合并到未注销的会员。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/money.py" line="+1"/>
        <source>&apos;{text}&apos; has more than two decimals.</source>
        <translation>“{text}”超过两位小数。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&apos;{text}&apos; is ambiguous: a comma is read only as a thousands separator (1,234.50). Write the decimals with a point, e.g. {example}.</source>
        <translation>“{text}”有歧义：逗号只能作千位分隔符（如 1,234.50）。小数请用小数点，例如 {example}。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Enter an amount in yuan (for example 100 or 99.50).</source>
        <translation>请输入以元为单位的金额（例如 100 或 99.50）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/credit.py" line="-184"/>
        <location line="+134"/>
        <location filename="../../crmdesk/services/purchases.py" line="-512"/>
        <source>An amount must be more than ¥0.00.</source>
        <translation>金额必须大于¥0.00。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/purchases.py" line="+3"/>
        <source>¥{amount} on one receipt is not plausible; check the amount.</source>
        <translation>单张小票¥{amount}不合常理，请核对金额。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The purchase time needs a time zone.</source>
        <translation>消费时间需要带时区。</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>{name} may not approve purchases of frozen members; ask a supervisor or the owner.</source>
        <translation>{name} 无权批准冻结会员的消费；请找主管或店主。</translation>
    </message>
    <message>
        <location line="+52"/>
        <source>Till {till} has used every generated receipt number of {day}; enter the receipt number.</source>
        <translation>收银台 {till} 在 {day} 的自动小票号已用完；请输入小票号。</translation>
    </message>
    <message>
        <location line="+132"/>
        <source>The parts paid from the wallet and on credit add up to more than the amount.</source>
        <translation>储值支付和赊账的金额合计超过了消费金额。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Say how much of the amount is paid from the wallet or on credit.</source>
        <translation>请填写用储值支付或赊账的金额。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{method}&apos; is not a way of paying.</source>
        <translation>“{method}”不是有效的支付方式。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Other tills kept taking the next receipt number of till {till}; record the purchase again.</source>
        <translation>收银台 {till} 的下一个小票号一再被占用；请重新记录这笔消费。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/purchase_imports.py" line="+410"/>
        <location filename="../../crmdesk/services/purchases.py" line="-277"/>
        <source>The purchase time {time} lies in the future.</source>
        <translation>消费时间{time}晚于现在。</translation>
    </message>
    <message>
        <location line="-417"/>
        <location filename="../../crmdesk/services/purchases.py" line="+7"/>
        <source>A receipt may have at most {count} lines.</source>
        <translation>一张小票最多{count}行商品。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/purchases.py" line="+4"/>
        <source>Line {line}: quantity must be positive and prices not negative.</source>
        <translation>第{line}行：数量必须大于0，价格不能为负。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Line {line}: a text is too long.</source>
        <translation>第{line}行：文字太长。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/purchase_imports.py" line="-1"/>
        <location filename="../../crmdesk/services/purchases.py" line="+3"/>
        <source>The lines add up to ¥{lines}, the receipt says ¥{amount}.</source>
        <translation>商品行合计¥{lines}，小票金额为¥{amount}。</translation>
    </message>
    <message>
        <location line="+12"/>
        <location filename="../../crmdesk/services/purchases.py" line="+46"/>
        <source>{name}&apos;s membership is {status}: purchases cannot be recorded for it.</source>
        <translation>{name}的会员状态为{status}，不能记录消费。</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>Enter the receipt number.</source>
        <translation>请输入小票号。</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>&apos;{value}&apos; is not a date and time; write it like 2024-03-01 14:05.</source>
        <translation>“{value}”不是日期时间，请写成2024-03-01 14:05这样的格式。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The purchase time {time} is before 2000; check the date.</source>
        <translation>消费时间{time}早于2000年，请核对日期。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/offline.py" line="+42"/>
        <source>The server cannot be reached, so {what} cannot be done now: the balance lives on the server and could be spent twice. Take the sale in cash (or the like), or wait until the server is back.</source>
        <translation>连不上服务器，暂时不能{what}：余额保存在服务器上，离线操作可能被重复使用。请改用现金等方式收款，或等服务器恢复。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Receipt {receipt} of till {till} is already waiting to be sent with other details.</source>
        <translation>收银台 {till} 的小票 {receipt} 已暂存待补录，但内容不同。</translation>
    </message>
    <message>
        <location line="+137"/>
        <location filename="../../crmdesk/services/purchase_imports.py" line="+2"/>
        <location filename="../../crmdesk/services/purchases.py" line="+87"/>
        <location line="+182"/>
        <source>The receipt number or till name is too long.</source>
        <translation>小票号或收银台名称太长。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/purchase_imports.py" line="+1"/>
        <source>Enter the receipt&apos;s amount (or its lines&apos; amounts).</source>
        <translation>请输入小票金额（或各商品行的金额）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enter the time of the purchase.</source>
        <translation>请输入消费时间。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&apos;{value}&apos; is not a kind of receipt: write sale (消费) or refund (退货).</source>
        <translation>“{value}”不是有效的小票类型：请填写消费（sale）或退货（refund）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&apos;{value}&apos; is not a quantity: write a number more than 0 with at most three decimals.</source>
        <translation>“{value}”不是有效的数量：请填写大于0、最多三位小数的数字。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A line&apos;s price and amount cannot be negative.</source>
        <translation>商品行的单价和金额不能为负数。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{quantity} × ¥{price} is not a whole number of fen: give the line amount (line_amount/小计).</source>
        <translation>{quantity} × ¥{price} 算不出整分金额：请直接填写该行小计（line_amount/小计）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>At most {count} characters.</source>
        <translation>最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Receipt {receipt} of till {till} is already on row {other_row}; only item lines may share a receipt.</source>
        <translation>收银台{till}的小票{receipt}已出现在第{other_row}行；只有同一小票的商品明细行才能共用小票号。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{value}&apos; differs from &apos;{other}&apos; on row {other_row} of the same receipt.</source>
        <translation>“{value}”与同一小票第{other_row}行的“{other}”不一致。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Row {other_row} of the same receipt is invalid.</source>
        <translation>同一小票的第{other_row}行无效。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Give the member&apos;s card number, member number or phone.</source>
        <translation>请填写会员的卡号、会员编号或手机号。</translation>
    </message>
    <message>
        <location line="+6"/>
        <location filename="../../crmdesk/services/purchases.py" line="-155"/>
        <location line="+116"/>
        <location line="+54"/>
        <location line="+23"/>
        <source>Receipt {receipt} of till {till} is already recorded with other details.</source>
        <translation>收银台{till}的小票{receipt}已按其他内容记录过。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A refund names the receipt it gives money back for (original_receipt/原小票号).</source>
        <translation>退款须填写所退的原小票号（original_receipt/原小票号）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Only a refund names an original receipt.</source>
        <translation>只有退款才填写原小票号。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A refund has no item lines: give only the amount given back.</source>
        <translation>退款不含商品明细：只需填写退款金额。</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/services/purchases.py" line="-32"/>
        <source>No sale with receipt {receipt} at till {till}.</source>
        <translation>收银台{till}没有小票号为{receipt}的消费。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Its sale {receipt} on row {other_row} is invalid.</source>
        <translation>对应的消费小票{receipt}（第{other_row}行）无效。</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/services/purchases.py" line="+17"/>
        <source>Only ¥{left} of this ¥{paid} receipt can still be refunded.</source>
        <translation>这张¥{paid}的小票最多还能退¥{left}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Receipt {receipt} is {owner}&apos;s, not {member}&apos;s.</source>
        <translation>小票{receipt}属于{owner}，不属于{member}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This large file is checked in parts kept in {folder}, and that failed ({detail}). Free some disk space there and try again; nothing was imported.</source>
        <translation>这个大文件要分批存放在 {folder} 里检查，但存放失败（{detail}）。请清理该处的磁盘空间后重试；没有导入任何内容。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/bench.py" line="+35"/>
        <source>--members must be at least 100.</source>
        <translation>--members 必须至少为 100。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>--purchases-per-member must be from 0 to 1000.</source>
        <translation>--purchases-per-member 必须在 0 到 1000 之间。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Unknown bench sections: {unknown}. Choose from: {known}.</source>
        <translation>未知的基准测试部分：{unknown}。可选：{known}。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{path} exists; --keep needs a new file.</source>
        <translation>{path} 已存在；--keep 需要指定一个新文件。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/tiers.py" line="+85"/>
        <source>&apos;{text}&apos; is not a percentage with at most two decimals.</source>
        <translation>“{text}”不是有效的百分比（最多两位小数）。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Keep at least one tier: the one every member starts in.</source>
        <translation>至少要保留一个等级，即所有会员的起始等级。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>At most {count} tiers.</source>
        <translation>最多只能有{count}个等级。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tier {row} needs a name.</source>
        <translation>请填写第{row}个等级的名称。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The tier name &apos;{name}&apos; is longer than 40 characters.</source>
        <translation>等级名称“{name}”超过40个字符。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Two tiers are called &apos;{name}&apos;; tier names must differ.</source>
        <translation>有两个等级都叫“{name}”，等级名称不能重复。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Tier &apos;{name}&apos;: the points multiplier must be from 0 % to 1000 %.</source>
        <translation>等级“{name}”：积分倍率必须在0%到1000%之间。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Tier &apos;{name}&apos;: the member discount must be from 0 % to 100 %.</source>
        <translation>等级“{name}”：会员折扣减免必须在0%到100%之间。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Tier &apos;{name}&apos;: &apos;{colour}&apos; is not a colour like #d4af37.</source>
        <translation>等级“{name}”：“{colour}”不是有效的颜色（格式如 #d4af37）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The first tier, &apos;{name}&apos;, is where everyone starts: its threshold must be ¥0.</source>
        <translation>第一个等级“{name}”是所有会员的起始等级，其门槛必须为¥0。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&apos;{higher}&apos; must need more 12-month spend than &apos;{lower}&apos; below it ({amount}).</source>
        <translation>“{higher}”的近12个月消费门槛必须高于下一级“{lower}”（{amount}）。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>The tiers were changed meanwhile; reopen the list and try again.</source>
        <translation>等级在此期间已被修改，请重新打开列表后再试。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Offers are limited to the tier &apos;{tier}&apos;; change those offers before deleting it.</source>
        <translation>有优惠活动限定了等级“{tier}”，请先修改这些优惠活动再删除该等级。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{count} members are in the tier &apos;{tier}&apos;. Deleting it moves them down to &apos;{target}&apos;.</source>
        <translation>等级“{tier}”中有{count}位会员。删除该等级后，他们将降到“{target}”。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/loyalty_settings.py" line="-220"/>
        <source>Category &apos;{category}&apos;: the multiplier must be a whole number of percent.</source>
        <translation>品类“{category}”：积分比例必须是整数百分比。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The category &apos;{category}&apos; is listed twice.</source>
        <translation>品类“{category}”重复列出。</translation>
    </message>
    <message>
        <location line="+156"/>
        <source>Tier &apos;{name}&apos;: the points multiplier must be a whole number of percent.</source>
        <translation>等级“{name}”：积分倍率必须是整数百分比。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/purchase_dialogs.py" line="-590"/>
        <source>Line {line}: &apos;{text}&apos; is not a quantity (up to three decimals).</source>
        <translation>第{line}行：“{text}”不是有效的数量（最多三位小数）。</translation>
    </message>
    <message>
        <location line="+417"/>
        <source>Only a supervisor or the owner can approve this purchase, and none can sign in here.</source>
        <translation>只有主管或店主可以批准这笔消费，但本店没有可登录的主管或店主。</translation>
    </message>
    <message>
        <location line="+183"/>
        <source>Type the amount to give back.</source>
        <translation>请输入退款金额。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/offers.py" line="+105"/>
        <location filename="../../crmdesk/views/offers_page.py" line="-11"/>
        <source>&apos;{text}&apos; is not a percentage (e.g. 5 or 12.5).</source>
        <translation>“{text}”不是有效的百分比（例如 5 或 12.5）。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>&apos;{text}&apos; is not a weekday (mon..sun or 0..6).</source>
        <translation>“{text}”不是有效的星期（mon..sun 或 0..6）。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Aim the offer at tags or at a group: only one of them.</source>
        <translation>优惠活动只能面向标签或分组之一。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/offers.py" line="-49"/>
        <source>Give the offer a name.</source>
        <translation>请为优惠活动命名。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>An offer name may have at most {count} characters.</source>
        <translation>优惠活动名称最多{count}个字符。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The offer ends ({end}) before it starts ({start}).</source>
        <translation>优惠活动的结束日期（{end}）早于开始日期（{start}）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>A limit must be from 1 to {max}, or left empty for no limit.</source>
        <translation>限用次数必须在1到{max}之间，留空表示不限。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The points cost must be from 0 to 1000000.</source>
        <translation>所需积分必须在0到1000000之间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The minimum spend must be from ¥0 to ¥100,000.</source>
        <translation>最低消费必须在¥0到¥100,000之间。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Give the amount taken off (more than ¥0).</source>
        <translation>请填写减免金额（大于¥0）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+68"/>
        <source>The amount off (¥{off}) must be less than the spend it needs (¥{spend}).</source>
        <translation>减免金额（¥{off}）必须小于消费门槛（¥{spend}）。</translation>
    </message>
    <message>
        <location line="-65"/>
        <source>&apos;For every full amount&apos; needs a spend threshold.</source>
        <translation>“每满减”需要设置消费门槛。</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+8"/>
        <source>The discount must be from 0.01 % to 99.99 %.</source>
        <translation>折扣减免必须在0.01%到99.99%之间。</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>Name the gift.</source>
        <translation>请填写赠品名称。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A birthday offer needs a gift, a discount, or both.</source>
        <translation>生日礼至少要设置赠品或折扣其中一项。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Buy and get quantities must be from 1 to 100.</source>
        <translation>购买数量和赠送数量必须在1到100之间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Give either the item code or the category the offer is for (one of them).</source>
        <translation>请填写优惠适用的商品编码或品类（二选一）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The points multiplier must be from 101 % to 1000 %.</source>
        <translation>积分倍率必须在101%到1000%之间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Extra points days apply by themselves: they take no limits, coupons or points cost.</source>
        <translation>积分加倍活动自动生效，不能设置限用次数、优惠券或所需积分。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>A text of the offer is too long.</source>
        <translation>优惠活动中有文字太长。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Choose at least one tier the offer is for.</source>
        <translation>请至少选择一个适用等级。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>A chosen tier no longer exists; choose again.</source>
        <translation>所选等级已不存在，请重新选择。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Give at least one tag the offer is for.</source>
        <translation>请至少填写一个适用标签。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Choose the saved group the offer is for.</source>
        <translation>请选择适用的已保存分组。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>{points} points are worth less than ¥0.01 at the points rules&apos; rate ({rate} points = ¥1); ask for more points.</source>
        <translation>按积分规则的兑换比例（{rate} 积分抵 ¥1），{points} 积分不足 ¥0.01；请设置更多积分。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>At the points rules&apos; rate ({rate} points = ¥1), {points} points are worth ¥{worth}, not ¥{off}. Money off for points follows that rate: leave the amount off empty, or change the points cost.</source>
        <translation>按积分规则的兑换比例（{rate} 积分抵 ¥1），{points} 积分值 ¥{worth}，不是 ¥{off}。积分抵现按这一比例计算：请不填减免金额，或修改所需积分。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Money off for points is taken once per use; it cannot be &apos;for every full amount&apos;.</source>
        <translation>积分抵现每次使用只减一次，不能设为“每满减”。</translation>
    </message>
    <message>
        <location line="+124"/>
        <source>No offer with id {id}.</source>
        <translation>没有编号为{id}的优惠活动。</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Several offers are named &apos;{name}&apos;; use the offer&apos;s id.</source>
        <translation>有多个名为“{name}”的优惠活动，请使用优惠活动编号。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No offer with the id or name &apos;{key}&apos;.</source>
        <translation>没有编号或名称为“{key}”的优惠活动。</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>The offer &apos;{name}&apos; does not take coupons; switch on &apos;needs a coupon&apos; first.</source>
        <translation>优惠活动“{name}”不使用优惠券；请先开启“需要优惠券”。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Make from 1 to {max} coupons at a time.</source>
        <translation>每次可生成1到{max}张优惠券。</translation>
    </message>
    <message>
        <location line="+297"/>
        <source>Offer &apos;{offer}&apos; cannot be used: {why}</source>
        <translation>优惠活动“{offer}”无法使用：{why}</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>The receipt has {units} of {item}; the offer needs {needed}.</source>
        <translation>小票中{item}只有{units}件，该优惠需要{needed}件。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The item price is not plausible; check it.</source>
        <translation>商品单价不合常理，请核对。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>The offer &apos;{name}&apos; is switched off.</source>
        <translation>优惠活动“{name}”已停用。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&apos;{name}&apos; gives extra points by itself when the purchase is recorded.</source>
        <translation>“{name}”会在记录消费时自动加送积分，无需手动使用。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No sale with id {id} for this member.</source>
        <translation>该会员没有编号为{id}的消费。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The basket amount is not plausible; check it.</source>
        <translation>本单金额不合常理，请核对。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Enter the basket amount to use &apos;{name}&apos;.</source>
        <translation>使用“{name}”前请输入本单金额。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>&apos;{name}&apos; needs a coupon: enter its code.</source>
        <translation>“{name}”需要优惠券：请输入券码。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The coupon {code} is not a coupon for &apos;{name}&apos;; check the code.</source>
        <translation>优惠券{code}不是“{name}”的券，请核对券码。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The coupon {code} was already used on {date}.</source>
        <translation>优惠券{code}已于{date}使用过。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The coupon {code} belongs to another member.</source>
        <translation>优惠券{code}属于其他会员。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{name}&apos; takes no coupon.</source>
        <translation>“{name}”不需要优惠券。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>The coupon {code} was just used at another till.</source>
        <translation>优惠券{code}刚刚已在其他收银台使用。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/complaints.py" line="+120"/>
        <source>Cannot read the file {path}.</source>
        <translation>无法读取文件 {path}。</translation>
    </message>
    <message>
        <location line="+80"/>
        <source>Give the customer&apos;s satisfaction: --follow-up-score 1 to 5.</source>
        <translation>请给出顾客满意度：--follow-up-score 1 到 5。</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Nothing to change: give --assign, --note, --status, a remedy, a follow-up or --reopen.</source>
        <translation>没有要修改的内容：请提供 --assign、--note、--status、处理方式、回访或 --reopen。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/surveys.py" line="+36"/>
        <source>&apos;{text}&apos; is not a question and a score, e.g. checkout=4.</source>
        <translation>“{text}”不是“问题=分数”的格式，例如 checkout=4。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/complaint_figures.py" line="+127"/>
        <source>&apos;{text}&apos; is not a month (YYYY-MM).</source>
        <translation>“{text}”不是有效的月份（YYYY-MM）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/surveys.py" line="-42"/>
        <source>The alert threshold must be from 0.01 to {max} points.</source>
        <translation>提醒阈值须在 0.01 到 {max} 分之间。</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Score at least one question.</source>
        <translation>请至少为一个问题打分。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&apos;{code}&apos; is not a survey question in use.</source>
        <translation>“{code}”不是正在使用的调查问题。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&apos;{code}&apos; is scored twice.</source>
        <translation>“{code}”被打了两次分。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A score runs from 1 (very dissatisfied) to 5 (very satisfied); {score} is not on the scale.</source>
        <translation>分数范围为 1（非常不满意）到 5（非常满意）；{score} 不在此范围内。</translation>
    </message>
    <message>
        <location line="+37"/>
        <source>No survey response with id {id}.</source>
        <translation>找不到编号为 {id} 的满意度调查记录。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/reports.py" line="+143"/>
        <source>Unknown column &apos;{column}&apos;; use: {known}.</source>
        <translation>未知的列“{column}”；可用的列：{known}。</translation>
    </message>
    <message>
        <location line="+53"/>
        <source>&apos;{text}&apos; is not an entry number (like W000123, C000045 or 123).</source>
        <translation>“{text}”不是有效的记录编号（例如 W000123、C000045 或 123）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{text} does not go with this slip: top-up receipts and cash-out slips print stored-value entries (W…), IOU slips credit entries (C…).</source>
        <translation>{text} 与此凭条不符：充值小票和退卡凭条打印储值记录（W…），赊账单打印赊账记录（C…）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/base.py" line="+58"/>
        <source>The report was cancelled; no file was written.</source>
        <translation>报告已取消，未写入任何文件。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/cards.py" line="+97"/>
        <source>None of the chosen members has an active card; there is nothing to print.</source>
        <translation>所选会员都没有在用的会员卡，没有可打印的内容。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/loyalty_figures.py" line="+162"/>
        <source>The period ends ({end}) before it starts ({start}).</source>
        <translation>统计期间的结束日期（{end}）早于开始日期（{start}）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/printing/printers.py" line="+34"/>
        <source>&apos;{address}&apos; is not a printer address: use usb:VID:PID, serial:/dev/ttyUSB0, tcp:192.168.1.50:9100 or file:/dev/usb/lp0.</source>
        <translation>“{address}”不是有效的打印机地址：请使用 usb:VID:PID、serial:/dev/ttyUSB0、tcp:192.168.1.50:9100 或 file:/dev/usb/lp0。</translation>
    </message>
    <message>
        <location line="+89"/>
        <source>Receipt printing needs the python-escpos package ({detail}).</source>
        <translation>打印小票需要安装 python-escpos 软件包（{detail}）。</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>The receipt printer {address} cannot print: {detail}</source>
        <translation>小票打印机 {address} 无法打印：{detail}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/slips.py" line="+96"/>
        <source>A receipt roll is 58 or 80 mm wide, not {width}.</source>
        <translation>小票纸卷宽度应为 58 或 80 mm，不能是 {width}。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/money_figures.py" line="-163"/>
        <source>{month} has not started yet.</source>
        <translation>{month} 尚未开始。</translation>
    </message>
    <message>
        <location line="+90"/>
        <source>The aging is as of today or a day before, not {date}.</source>
        <translation>账龄只能截至今天或之前的日期，不能是 {date}。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/money_settings.py" line="+53"/>
        <source>Under the prepaid card rules a wallet holds from ¥0.01 to ¥5,000.00.</source>
        <translation>按预付卡规定，储值余额上限须在¥0.01到¥5,000.00之间。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The amount above which the PIN is asked is not plausible.</source>
        <translation>免密支付上限不合理，请检查。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Credit can stop by itself after 1 to 365 days overdue, or never (0).</source>
        <translation>自动停止赊账的逾期天数须在1到365天之间，填0表示从不自动停止。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The highest suggested credit limit is not plausible.</source>
        <translation>建议赊账额度上限不合理，请检查。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/payments.py" line="+50"/>
        <source>&apos;{text}&apos; is not a way of paying here; use one of: {words}.</source>
        <translation>“{text}”不是此处可用的支付方式；请使用：{words}。</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>No purchase with id {id}.</source>
        <translation>没有编号为 {id} 的消费记录。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/slips.py" line="+128"/>
        <source>Stored-value entry {id} is not a top-up: no top-up receipt for it.</source>
        <translation>储值记录 {id} 不是充值，没有充值小票。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored-value entry {id} is not a cash-out: no cash-out slip for it.</source>
        <translation>储值记录 {id} 不是退卡退款，没有退卡凭条。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No stored-value entry {id}.</source>
        <translation>没有储值记录 {id}。</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>No credit entry {id}.</source>
        <translation>没有赊账记录 {id}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Credit entry {id} is not a purchase on credit: no IOU slip for it.</source>
        <translation>赊账记录 {id} 不是赊账消费，没有赊账单。</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>&apos;{kind}&apos; is not a slip: topup, cashout or iou.</source>
        <translation>“{kind}”不是有效的凭条类型：请用 topup、cashout 或 iou。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/wallet.py" line="-182"/>
        <source>{rule}: a top-up of {amount} reaches {threshold}, so {bonus} is added.</source>
        <translation>{rule}：充值 {amount} 已满 {threshold}，赠送 {bonus}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No top-up bonus applies today.</source>
        <translation>今天没有适用的充值赠送。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No bonus: {rule} needs a top-up of at least {threshold}.</source>
        <translation>无赠送：{rule}需充值满 {threshold}。</translation>
    </message>
    <message>
        <location line="+94"/>
        <source>A top-up bonus needs a top-up of more than ¥0.00.</source>
        <translation>充值赠送的充值门槛必须大于¥0.00。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The bonus must be more than ¥0.00 and less than the top-up it rewards.</source>
        <translation>赠送金额必须大于¥0.00，且小于对应的充值金额。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The bonus ends before it starts.</source>
        <translation>充值赠送的结束日期早于开始日期。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No tier with id {id}.</source>
        <translation>没有编号为 {id} 的等级。</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>No top-up bonus with id {id}.</source>
        <translation>没有编号为 {id} 的充值赠送。</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>{name}&apos;s membership is {status}: the wallet cannot be used.</source>
        <translation>{name}的会员状态为{status}，不能使用储值。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>A member&apos;s stored value may not exceed {cap} under the prepaid card rules: {name} holds {balance}, so {room} more at most (bonus included).</source>
        <translation>按预付卡规定，会员储值余额不得超过 {cap}：{name}现有 {balance}，最多还能充入 {room}（含赠送）。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>A top-up must be more than ¥0.00 and at most ¥100,000.00.</source>
        <translation>充值金额必须大于¥0.00，且不超过¥100,000.00。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A top-up is paid in cash, by WeChat Pay, Alipay or bank card, not &apos;{method}&apos;.</source>
        <translation>充值只能用现金、微信支付、支付宝或银行卡，不能用“{method}”。</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>{name}&apos;s wallet holds {balance}; {amount} cannot be paid from it.</source>
        <translation>{name}的储值余额为 {balance}，不够支付 {amount}。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The member&apos;s payment PIN is needed for {amount} from the wallet.</source>
        <translation>用储值支付 {amount} 需要会员输入支付密码。</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>A cash-out is paid in cash, by WeChat Pay, Alipay or bank card, not &apos;{method}&apos;.</source>
        <translation>退卡退款只能用现金、微信支付、支付宝或银行卡，不能用“{method}”。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{name}&apos;s wallet is empty: there is nothing to pay back.</source>
        <translation>{name}的储值余额为零，没有可退还的金额。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>A correction must change the principal or the bonus.</source>
        <translation>储值调整必须改变本金或赠送金额。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name}&apos;s wallet holds {principal} principal and {bonus} bonus; it cannot go below zero.</source>
        <translation>{name}的储值现有本金 {principal}、赠送 {bonus}，调整后不能低于零。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>An opening balance cannot be negative.</source>
        <translation>期初储值余额不能为负数。</translation>
    </message>
    <message>
        <location line="+45"/>
        <location line="+10"/>
        <source>Too many wrong PINs: wallet payments of {name} wait {minutes} min.</source>
        <translation>支付密码错误次数过多：{name}的储值支付暂停 {minutes} 分钟。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Wrong payment PIN. Tries left: {left}.</source>
        <translation>支付密码错误。还可尝试 {left} 次。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/money_dialogs.py" line="-226"/>
        <source>Type the amount paid back.</source>
        <translation>请输入还款金额。</translation>
    </message>
    <message>
        <location line="+92"/>
        <source>The two PINs differ.</source>
        <translation>两次输入的支付密码不一致。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/safety.py" line="+100"/>
        <source>A restore replaces every member and sale with the backup&apos;s: add --yes to confirm it.</source>
        <translation>恢复会用备份中的数据替换全部会员和销售记录：请加 --yes 确认。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/failures.py" line="+32"/>
        <source>The database is busy: another till or a long import is writing to it. Nothing was changed; try again in a moment.</source>
        <translation>数据库正忙：另一台收银机或一次大批量导入正在写入。未做任何更改；请稍后再试。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The disk is full{where}. Nothing was saved; free some space (old files, the recycle bin) and try again.</source>
        <translation>磁盘已满{where}。未保存任何内容；请腾出空间（删除旧文件、清空回收站）后再试。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cannot write{where}: it is read-only or belongs to another account. Nothing was changed; choose another place, or ask whoever looks after this computer.</source>
        <translation>无法写入{where}：它是只读的或属于其他账户。未做任何更改；请换一个位置，或联系负责这台电脑的人。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The database file is damaged. Stop using it and restore the latest backup (Settings → Backup and restore, or &apos;crmdesk restore&apos;).</source>
        <translation>数据库文件已损坏。请停止使用并恢复最近的备份（设置 → 备份与恢复，或“crmdesk restore”）。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The disk could not be read or written{where}. Nothing was changed; check the disk or USB stick and try again.</source>
        <translation>磁盘无法读写{where}。未做任何更改；请检查硬盘或U盘后再试。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The database server cannot be reached, or the connection to it broke. Check the network and that the server is running, then try again: a sale or a money operation that reached the server before the break is recognised, not done twice.</source>
        <translation>无法连接数据库服务器，或与它的连接断开了。请检查网络和服务器是否在运行，然后再试一次：断开前已到达服务器的消费或资金操作会被认出，不会重复记录。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Something failed that crmdesk did not expect ({kind}). The details are in {log}; send that file to whoever looks after this computer.</source>
        <translation>发生了 crmdesk 未预料的错误（{kind}）。详情记录在 {log}；请把该文件发给负责这台电脑的人。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/backups.py" line="+146"/>
        <source>{path} is a file, not a folder for backups.</source>
        <translation>{path} 是一个文件，不是用于存放备份的文件夹。</translation>
    </message>
    <message>
        <location line="+47"/>
        <location line="+11"/>
        <source>{path} is not a crmdesk database or backup.</source>
        <translation>{path} 不是 crmdesk 数据库或备份。</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>{path} is damaged: SQLite&apos;s integrity check fails on it.</source>
        <translation>{path} 已损坏：未通过 SQLite 完整性检查。</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Backing up a PostgreSQL database needs pg_dump, which is not installed here. Install the PostgreSQL client tools (Debian/Ubuntu: apt install postgresql-client; Windows: the PostgreSQL installer&apos;s command line tools), or back up on the server with pg_dump.</source>
        <translation>备份 PostgreSQL 数据库需要 pg_dump，但本机未安装。请安装 PostgreSQL 客户端工具（Debian/Ubuntu：apt install postgresql-client；Windows：PostgreSQL 安装程序中的命令行工具），或在服务器上用 pg_dump 备份。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>pg_dump could not back up the database: {detail}</source>
        <translation>pg_dump 无法备份数据库：{detail}</translation>
    </message>
    <message>
        <location line="+229"/>
        <source>There is no backup file {path}.</source>
        <translation>没有备份文件 {path}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{path} has changed since it was written (its checksum differs): it is damaged; choose another copy.</source>
        <translation>{path} 在写入后被改动过（校验和不符）：文件已损坏；请选择其他备份。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>{path} is damaged: it cannot be unpacked; choose another copy.</source>
        <translation>{path} 已损坏：无法解压；请选择其他备份。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{path} was written by a newer version of crmdesk (schema {revision}). Install the newer crmdesk to restore it.</source>
        <translation>{path} 由更新版本的 crmdesk 写入（结构版本 {revision}）。请安装新版 crmdesk 后再恢复。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>A PostgreSQL database is restored on the server with pg_restore (pg_restore --clean --dbname=NAME FILE), with every till closed.</source>
        <translation>PostgreSQL 数据库请在服务器上用 pg_restore 恢复（pg_restore --clean --dbname=NAME FILE），恢复前关闭所有收银台。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/safety_settings.py" line="+42"/>
        <source>Keep between 0 and {most} copies.</source>
        <translation>保留份数应在 0 到 {most} 之间。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Keep closed members&apos; data between 0 (always) and {most} years.</source>
        <translation>已注销会员数据的保留年限应在 0（永久）到 {most} 年之间。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The second place must be a full folder path, such as E:\crmdesk or /media/usb/crmdesk.</source>
        <translation>第二备份位置必须是完整的文件夹路径，例如 E:\crmdesk 或 /media/usb/crmdesk。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/privacy.py" line="+1"/>
        <source>Cannot write into {folder}: it is not an existing folder.</source>
        <translation>无法写入 {folder}：该文件夹不存在。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The personal data of member {member_no} was already erased on {date}; there is nothing left to erase.</source>
        <translation>会员 {member_no} 的个人信息已于 {date} 删除，没有可删除的内容了。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Member {member_no} still has {amount} of stored value: cash out the stored value first, then erase the personal data.</source>
        <translation>会员 {member_no} 还有储值余额 {amount}：请先退还储值余额，再删除个人信息。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Member {member_no} still owes {amount}: settle or write off the debt first, then erase the personal data.</source>
        <translation>会员 {member_no} 还欠款 {amount}：请先结清或核销欠款，再删除个人信息。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Member {member_no} still has {wallet} of stored value and owes {owed}: cash out the stored value and settle or write off the debt first, then erase the personal data.</source>
        <translation>会员 {member_no} 还有储值余额 {wallet}，并欠款 {owed}：请先退还储值余额，并结清或核销欠款，再删除个人信息。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Type the member&apos;s name (or member number) to confirm that their personal data is to be erased.</source>
        <translation>请输入会员姓名（或会员编号），确认删除其个人信息。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&apos;{typed}&apos; is not this member&apos;s name or member number; nothing was erased. Type it exactly as registered.</source>
        <translation>“{typed}”不是该会员的姓名或会员编号，未删除任何信息。请按登记时的写法准确输入。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The personal data of member {member_no} was erased; there is no consent left to record.</source>
        <translation>会员 {member_no} 的个人信息已删除，无需再记录同意。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/tabular.py" line="+65"/>
        <source>{path} is empty: there is nothing to import.</source>
        <translation>{path} 是空文件，没有可导入的内容。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot read {path}: {detail}</source>
        <translation>无法读取 {path}：{detail}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{path} is neither UTF-8 nor GBK/GB18030 text: byte {position} (line {line}) is not valid {encoding}. Save it from Excel or WPS as &quot;CSV UTF-8&quot; or as .xlsx and import that.</source>
        <translation>{path} 既不是UTF-8也不是GBK/GB18030文本：第{position}字节（第{line}行）不是有效的{encoding}。请在Excel或WPS中另存为“CSV UTF-8”或.xlsx后再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} is an old Excel .xls file: save it as .xlsx or CSV and import that.</source>
        <translation>{path} 是旧版Excel .xls文件：请另存为.xlsx或CSV后再导入。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{path} cannot be read as an Excel workbook: it is damaged or incomplete (was the copy or download cut short?). Open it in Excel or WPS and save it again, or save it as CSV and import that.</source>
        <translation>无法将 {path} 作为 Excel 工作簿读取：文件已损坏或不完整（复制或下载是否中断？）。请用 Excel 或 WPS 打开后重新保存，或另存为 CSV 再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} cannot be read as CSV near line {line}: {detail}</source>
        <translation>{path} 在第{line}行附近无法按CSV读取：{detail}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{path} is not an Excel file: its name ends in {suffix} but it holds something else. Open it in Excel or WPS, save it as .xlsx or CSV and import that.</source>
        <translation>{path} 不是 Excel 文件：文件名以 {suffix} 结尾，但内容不是 Excel 表格。请用 Excel 或 WPS 打开，另存为 .xlsx 或 CSV 后再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} is an Excel workbook, not a CSV file: rename it to end in .xlsx and import it again.</source>
        <translation>{path} 是 Excel 工作簿，不是 CSV 文件：请把文件名改为以 .xlsx 结尾后重新导入。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{path} is a ZIP archive, not a CSV or Excel file: unpack it and import the list inside.</source>
        <translation>{path} 是 ZIP 压缩包，不是 CSV 或 Excel 文件：请先解压，再导入里面的名单。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{path} is not a text (CSV) file: it holds binary data. Save the list from Excel or WPS as CSV or .xlsx and import that.</source>
        <translation>{path} 不是文本（CSV）文件：其中是二进制数据。请在 Excel 或 WPS 中把名单另存为 CSV 或 .xlsx 后再导入。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{path} is larger than {limit} MB, too big to import at once: split it into smaller files and import them one after another.</source>
        <translation>{path} 超过 {limit} MB，太大，无法一次导入：请拆分成几个较小的文件，逐个导入。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{path} would unpack to {size} MB, more than the {limit} MB an import may read: split the list into smaller files, or save it as CSV and import that.</source>
        <translation>{path} 解压后有 {size} MB，超过一次导入可读取的 {limit} MB：请把名单拆分成几个较小的文件，或另存为 CSV 再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} has more than {limit} rows: split it into smaller files and import them one after another.</source>
        <translation>{path} 超过 {limit} 行：请拆分成几个较小的文件，逐个导入。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Row {row} of {path} has more than {limit} columns: delete the columns that are not imported and save it again.</source>
        <translation>{path} 第 {row} 行超过 {limit} 列：请删除不需要导入的列，然后重新保存。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Row {row} of {path} has a cell of more than {limit} characters, more than Excel allows. Correct that row (in a CSV file, a quote mark (&quot;) that is never closed runs on to the end of the file), or save the list again from Excel or WPS.</source>
        <translation>{path} 第 {row} 行有一个单元格超过 {limit} 个字符，超出 Excel 的上限。请修正该行（CSV 文件中未闭合的引号（&quot;）会一直延续到文件末尾），或用 Excel 或 WPS 重新保存名单。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Row {row} of {path} runs on for more than {limit} characters, longer than any row of a list. Correct that row (in a CSV file, a quote mark (&quot;) that is never closed runs on to the end of the file), or save the list again from Excel or WPS.</source>
        <translation>{path} 第 {row} 行超过 {limit} 个字符，比任何名单的一行都长。请修正该行（CSV 文件中未闭合的引号（&quot;）会一直延续到文件末尾），或用 Excel 或 WPS 重新保存名单。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{path} is damaged (the sheet is cut short): open it in Excel or WPS and save it again, or save it as CSV and import that.</source>
        <translation>{path} 已损坏（工作表不完整）：请用 Excel 或 WPS 打开后重新保存，或另存为 CSV 再导入。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{path} is damaged (part of it is cut short): open it in Excel or WPS and save it again, or save it as CSV and import that.</source>
        <translation>{path} 已损坏（部分内容不完整）：请用 Excel 或 WPS 打开后重新保存，或另存为 CSV 再导入。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{path} is damaged (part of the workbook cannot be unpacked): open it in Excel or WPS and save it again, or save it as CSV and import that.</source>
        <translation>{path} 已损坏（工作簿的一部分无法解压）：请用 Excel 或 WPS 打开后重新保存，或另存为 CSV 再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} is damaged (its contents are not what Excel writes): open it in Excel or WPS and save it again, or save it as CSV and import that.</source>
        <translation>{path} 已损坏（内容不是 Excel 写出的格式）：请用 Excel 或 WPS 打开后重新保存，或另存为 CSV 再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} is damaged or unsafe: it declares XML entities, which Excel and WPS never write, so it was not read. Save the list again from Excel or WPS, or as CSV, and import that.</source>
        <translation>{path} 已损坏或不安全：其中声明了 XML 实体（Excel 和 WPS 从不写入），因此未读取。请用 Excel 或 WPS 重新保存名单，或另存为 CSV，然后再导入。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{path} has no worksheet: open it in Excel or WPS, put the list on the first sheet, save it and import it again.</source>
        <translation>{path} 中没有工作表：请用 Excel 或 WPS 打开，把名单放在第一个工作表，保存后重新导入。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/insight.py" line="+194"/>
        <source>The window must be from 1 to {most} months, not {months}.</source>
        <translation>统计窗口应为 1 到 {most} 个月，而不是 {months} 个月。</translation>
    </message>
    <message>
        <location line="+88"/>
        <source>The calibration cannot end after today ({today}).</source>
        <translation>拟合截止日不能晚于今天（{today}）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/handoff.py" line="+140"/>
        <source>There is no folder {folder}.</source>
        <translation>没有文件夹 {folder}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The hand-off folder {folder} cannot be reached ({detail}). Watching goes on; the receipts are imported when it is back.</source>
        <translation>无法访问交接文件夹 {folder}（{detail}）。crmdesk 会继续留意，文件夹恢复后再导入小票。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cannot move files in the hand-off folder {folder} ({detail}); the receipts wait there. Check that this computer may write in it.</source>
        <translation>无法移动交接文件夹 {folder} 中的文件（{detail}），小票仍留在其中。请检查本机是否有权写入该文件夹。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{file} was imported but cannot be moved to {target} ({detail}); it is checked again later.</source>
        <translation>{file} 已导入，但无法移到 {target}（{detail}），稍后会再次检查。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{file} could not be imported now and is tried again later: {reason}</source>
        <translation>{file} 暂时无法导入，稍后会重试：{reason}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{file} was not imported: {reason}

Correct the file and put it into the hand-off folder again.</source>
        <translation>{file} 未导入：{reason}

请修改文件后重新放入交接文件夹。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/commands/server.py" line="+18"/>
        <source>There is no store file at {path} to copy.</source>
        <translation>{path} 处没有可复制的店铺数据文件。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/connection_problems.py" line="+16"/>
        <source>The server &apos;{host}&apos; cannot be found on the network. Check the name in the line from the server PC, and that this computer is connected to the shop&apos;s network.</source>
        <translation>在网络上找不到服务器“{host}”。请核对服务器给出的连接行中的名称，并确认本机已连上店里的网络。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{host}&apos; answered, but no database server is listening on port {port}. Check that the server PC is on and PostgreSQL runs there, and that the port in the line is right.</source>
        <translation>“{host}”有响应，但端口 {port} 上没有数据库服务。请确认服务器电脑已开机、PostgreSQL 正在运行，并且连接行中的端口正确。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{host}&apos; did not answer within {seconds} seconds. The server PC may be off, or its firewall blocks port {port}: allow PostgreSQL (port {port}) through the firewall of the server PC.</source>
        <translation>“{host}”在 {seconds} 秒内没有响应。服务器电脑可能没开机，或者它的防火墙拦住了端口 {port}：请在服务器电脑的防火墙中放行 PostgreSQL（端口 {port}）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server refused the name or password &apos;{user}&apos; signed in with. Copy the line from the server PC again.</source>
        <translation>服务器拒绝了用户“{user}”的名称或密码。请重新复制服务器给出的连接行。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server does not let this computer in: its pg_hba.conf has no line for this computer&apos;s network. Add one on the server PC (see the README: several tills).</source>
        <translation>服务器不允许本机连接：它的 pg_hba.conf 里没有本机所在网络的条目。请在服务器电脑上添加一条（见 README：多台收银机）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server has no database named &apos;{database}&apos;. Check the line from the server PC, or run &apos;crmdesk server setup&apos; there.</source>
        <translation>服务器上没有名为“{database}”的数据库。请核对服务器给出的连接行，或在服务器上运行“crmdesk server setup”。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server has no room for another connection now. Close crmdesk on a PC that does not need it, or ask for max_connections to be raised on the server.</source>
        <translation>服务器目前无法再接受新的连接。请关闭不需要的电脑上的 crmdesk，或请人调高服务器的 max_connections。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server refused the connection: {detail}</source>
        <translation>服务器拒绝了连接：{detail}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/server.py" line="-127"/>
        <source>&apos;{text}&apos; is not a server line: it should look like postgresql://crmdesk:password@shop-pc:5432/crmdesk.</source>
        <translation>“{text}”不是服务器连接行：应形如 postgresql://crmdesk:密码@shop-pc:5432/crmdesk。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The database &apos;{database}&apos; on the server is empty. Run &apos;crmdesk server setup&apos; on the server PC first.</source>
        <translation>服务器上的数据库“{database}”是空的。请先在服务器电脑上运行“crmdesk server setup”。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server&apos;s data was written by a newer crmdesk than this one (schema {revision}). Install the newer crmdesk on this computer, then connect again.</source>
        <translation>服务器上的数据由更新版本的 crmdesk 写入（结构版本 {revision}）。请在本机安装新版 crmdesk 后再连接。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Give the server, the database and the user name.</source>
        <translation>请填写服务器、数据库和用户名。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Give this till a name (e.g. 01 or Front desk): it goes on its receipts, and every till of the shop needs its own.</source>
        <translation>请给本收银台起个名称（例如 01 或 前台）：它会印在小票上，店里每台收银机的名称都要不同。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A till&apos;s name may have at most {count} characters.</source>
        <translation>收银台名称最多 {count} 个字符。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only a PostgreSQL server can be shared by several tills; &apos;{text}&apos; is not one.</source>
        <translation>只有 PostgreSQL 服务器才能由多台收银机共用；“{text}”不是。</translation>
    </message>
    <message>
        <location line="+141"/>
        <source>PostgreSQL is not installed on this computer (nothing answers on {host}:{port}). Install it, then run &apos;crmdesk server setup&apos; again:
{steps}</source>
        <translation>本机没有安装 PostgreSQL（{host}:{port} 无响应）。请先安装，再运行“crmdesk server setup”：
{steps}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>PostgreSQL is installed here ({found}) but not running. Start it, then run &apos;crmdesk server setup&apos; again:
{steps}</source>
        <translation>本机已安装 PostgreSQL（{found}），但没有运行。请先启动它，再运行“crmdesk server setup”：
{steps}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>PostgreSQL did not let crmdesk in as its administrator: {detail}
{steps}</source>
        <translation>PostgreSQL 没有允许 crmdesk 以管理员身份登录：{detail}
{steps}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&apos;{user}&apos; may not create databases and roles on this server. Sign in as PostgreSQL&apos;s administrator (postgres).</source>
        <translation>“{user}”无权在此服务器上创建数据库和角色。请以 PostgreSQL 管理员（postgres）身份登录。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server already has a database or role named &apos;{name}&apos;. Choose another name (--name), or, to give the tills a new password for it, run setup again with --new-password.</source>
        <translation>服务器上已有名为“{name}”的数据库或角色。请换一个名称（--name）；如要给收银机换一个新密码，请加上 --new-password 再运行一次。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&apos;{name}&apos; cannot name a database: use lower-case letters, digits and _ (at most 40), starting with a letter.</source>
        <translation>“{name}”不能用作数据库名：请使用小写字母、数字和 _（最多 40 个），并以字母开头。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server&apos;s database already holds a store; the copy goes only into a new one.</source>
        <translation>服务器上的数据库已经有店铺数据；只能复制到新的数据库中。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The copy does not match the file ({detail}); nothing was kept on the server.</source>
        <translation>复制结果与文件不一致（{detail}）；服务器上没有保留任何内容。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/requests.py" line="+19"/>
        <source>This was already recorded at {time}: the connection broke just after it went through. Nothing more was done.</source>
        <translation>这笔已在 {time} 记录：连接是在记录完成后才断开的。这次没有重复记录。</translation>
    </message>
</context>
<context>
    <name>filters</name>
    <message>
        <location filename="../../crmdesk/services/member_query.py" line="-557"/>
        <source>Name or phone starts with</source>
        <translation>姓名或手机号开头为</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tags (any of)</source>
        <translation>标签（任一）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Joined from</source>
        <translation>入会起始</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Joined until</source>
        <translation>入会截止</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Birthday in month</source>
        <translation>生日月份</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Last visit from</source>
        <translation>最近到店起始</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Last visit until</source>
        <translation>最近到店截止</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Spend at least</source>
        <translation>消费不低于</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Spend at most</source>
        <translation>消费不高于</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Stored value at least</source>
        <translation>储值余额不低于</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Owes money</source>
        <translation>有欠款</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+2"/>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Segment</source>
        <translation>客户分群</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ABC class</source>
        <translation>ABC 分类</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stage</source>
        <translation>生命周期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Churn alert</source>
        <translation>流失预警</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Still a customer at most</source>
        <translation>留存概率不超过</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>12-month value at least</source>
        <translation>12 个月预期价值不低于</translation>
    </message>
</context>
<context>
    <name>handoff</name>
    <message>
        <location filename="../../crmdesk/views/handoff_log.py" line="-97"/>
        <source>Imported</source>
        <translation>已导入</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rows rejected</source>
        <translation>部分行被拒</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not read</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Folder back</source>
        <translation>文件夹已恢复</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>{file} — {imported} imported, {unchanged} unchanged</source>
        <translation>{file} — 导入{imported}张，未变{unchanged}张</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{file} — {imported} imported, {rejected} rejected</source>
        <translation>{file} — 导入{imported}张，被拒{rejected}张</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{file} — not read: {reason}</source>
        <translation>{file} — 无法读取：{reason}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>the folder can be reached again</source>
        <translation>文件夹已恢复访问</translation>
    </message>
</context>
<context>
    <name>history</name>
    <message>
        <location filename="../../crmdesk/services/members.py" line="+49"/>
        <source>Registered</source>
        <translation>登记入会</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Birthday</source>
        <translation>生日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>E-mail</source>
        <translation>邮箱</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Company</source>
        <translation>单位</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Marketing consent</source>
        <translation>营销许可</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason for the status</source>
        <translation>状态变更原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Merged in another member</source>
        <translation>合并了其他会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Merged into another member</source>
        <translation>已并入其他会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card issued</source>
        <translation>发卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card replaced</source>
        <translation>换卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card reported lost</source>
        <translation>挂失</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Card stopped</source>
        <translation>停卡</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Consent to keeping personal data</source>
        <translation>同意保存个人信息</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Personal data erased</source>
        <translation>个人信息已删除</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/member_profile.py" line="-156"/>
        <source>given</source>
        <translation>已同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>on the member&apos;s request</source>
        <translation>应会员要求</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>retention period over</source>
        <translation>超过保存期限</translation>
    </message>
</context>
<context>
    <name>insight</name>
    <message>
        <location filename="../../crmdesk/services/insight.py" line="-42"/>
        <source>Reading purchases</source>
        <translation>读取消费记录</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Figures per member</source>
        <translation>计算每位会员的指标</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Scores, segments and classes</source>
        <translation>评分、分群与分类</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Fitting the purchase model</source>
        <translation>拟合购买模型</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+332"/>
        <source>Saving</source>
        <translation>保存</translation>
    </message>
    <message>
        <location line="-330"/>
        <source>Dashboard figures</source>
        <translation>看板数据</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/insight_figures.py" line="-143"/>
        <source>RFM segment</source>
        <translation>RFM 分群</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ABC class</source>
        <translation>ABC 分类</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lifecycle stage</source>
        <translation>生命周期阶段</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Churn alert</source>
        <translation>流失预警</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>No tier</source>
        <translation>无等级</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/insight_rules.py" line="+84"/>
        <source>Top value</source>
        <translation>重要价值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recall (high value)</source>
        <translation>重要唤回</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Develop (high value)</source>
        <translation>重要深耕</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Retain (high value)</source>
        <translation>重要挽留</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Potential</source>
        <translation>潜力</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Newcomer</source>
        <translation>新客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Maintain</source>
        <translation>一般维持</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Churned</source>
        <translation>流失</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Recent, frequent and high spend: the shop&apos;s best; keep them pleased.</source>
        <translation>近期来过、常来、消费高：店里最好的顾客，要让他们满意。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Frequent and high spend but not lately: call them back.</source>
        <translation>常来、消费高，但最近没来：把他们叫回来。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recent and high spend but seldom: bring them more often.</source>
        <translation>最近来过、消费高，但来得少：让他们多来。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>High spend, seldom and not lately: slipping away; act now.</source>
        <translation>消费高，但来得少、最近没来：正在流失，马上行动。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recent and frequent but low spend: grow the basket.</source>
        <translation>最近来过、常来，但消费低：提高客单价。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recent, seldom and low spend so far.</source>
        <translation>最近来过，来得少，消费还不多。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Frequent but low spend and not lately.</source>
        <translation>常来但消费低，最近没来。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Low on recency, frequency and spend.</source>
        <translation>近度、频度和消费都低。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>A: the core (80% of spend)</source>
        <translation>A：核心（贡献 80% 消费）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>B: the next 15%</source>
        <translation>B：其后 15%</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>C: the last 5%</source>
        <translation>C：最后 5%</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>New</source>
        <translation>新客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Active</source>
        <translation>活跃</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Won back</source>
        <translation>已召回</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cooling</source>
        <translation>降温</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>At risk</source>
        <translation>流失风险</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lapsed</source>
        <translation>沉睡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lost</source>
        <translation>已流失</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Away far longer than usual</source>
        <translation>远超平时没来</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Spending far less than usual</source>
        <translation>消费远低于平时</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>usually every {usual} days; {now} days now</source>
        <translation>平时每 {usual} 天来一次；已经 {now} 天没来</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>monthly spend fell from {usual} to {now}</source>
        <translation>月消费从 {usual} 降到 {now}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Not yet reliable: the model needs at least {count} members who came back more than once.</source>
        <translation>暂不可靠：模型至少需要 {count} 位来过不止一次的会员。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not yet reliable: the model needs at least {days} days of purchases.</source>
        <translation>暂不可靠：模型至少需要 {days} 天的消费记录。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not reliable: the model could not be fitted to this shop&apos;s history.</source>
        <translation>不可靠：模型无法拟合本店的历史数据。</translation>
    </message>
</context>
<context>
    <name>ledger</name>
    <message>
        <location filename="../../crmdesk/services/loyalty.py" line="-326"/>
        <source>complaint {complaint}</source>
        <translation>投诉 #{complaint} 补偿</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>expired before {date}</source>
        <translation>{date} 前到期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{points} points were already spent</source>
        <translation>其中 {points} 积分已被使用</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>offer {offer}: {name}</source>
        <translation>优惠活动 #{offer}：{name}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>import {file}</source>
        <translation>导入自 {file}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>receipt {receipt}</source>
        <translation>小票 {receipt}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>receipt {receipt}: {note}</source>
        <translation>小票 {receipt}：{note}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>overdue {days} days</source>
        <translation>逾期 {days} 天</translation>
    </message>
</context>
<context>
    <name>offers</name>
    <message>
        <location filename="../../crmdesk/services/offers.py" line="-929"/>
        <source>Spend and save (满减)</source>
        <translation>满减</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Percentage off</source>
        <translation>折扣</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gift</source>
        <translation>赠品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Birthday month</source>
        <translation>生日礼</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Buy X get Y</source>
        <translation>买X送Y</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Extra points days</source>
        <translation>积分加倍</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Everyone</source>
        <translation>所有会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tiers</source>
        <translation>会员等级</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Saved group</source>
        <translation>已保存分组</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Not yet started: from {date}.</source>
        <translation>尚未开始：{date}起生效。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ended on {date}.</source>
        <translation>已于{date}结束。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The membership is {status}.</source>
        <translation>会员状态为{status}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only for tiers: {tiers}.</source>
        <translation>仅限以下等级：{tiers}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only for members tagged: {tags}.</source>
        <translation>仅限带以下标签的会员：{tags}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only for the group {group}.</source>
        <translation>仅限分组“{group}”。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Limit reached: used {used} of {limit} times by this member.</source>
        <translation>已达每人限用次数：该会员已使用{used}次（上限{limit}次）。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Total limit reached: all {limit} uses are taken.</source>
        <translation>已达总限用次数：{limit}次已全部用完。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The basket ¥{basket} is below ¥{threshold}.</source>
        <translation>本单金额¥{basket}未满¥{threshold}。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only in the member&apos;s birthday month.</source>
        <translation>仅限会员生日当月使用。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not on this day of the week.</source>
        <translation>今天不在适用日内。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Needs a coupon; this member has none.</source>
        <translation>需要优惠券，但该会员没有。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Costs {cost} points; the member has {balance}.</source>
        <translation>需要{cost}积分，该会员只有{balance}积分。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/offers_page.py" line="-151"/>
        <source>Mon</source>
        <translation>周一</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tue</source>
        <translation>周二</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Wed</source>
        <translation>周三</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thu</source>
        <translation>周四</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Fri</source>
        <translation>周五</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sat</source>
        <translation>周六</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sun</source>
        <translation>周日</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No limit</source>
        <translation>不限</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>¥{off} off</source>
        <translation>立减¥{off}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>¥{off} off for every ¥{spend}</source>
        <translation>每满¥{spend}减¥{off}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Spend ¥{spend}, get ¥{off} off</source>
        <translation>满¥{spend}减¥{off}</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+8"/>
        <source>{percent} % off</source>
        <translation>减免{percent}%</translation>
    </message>
    <message>
        <location line="-6"/>
        <location line="+4"/>
        <source>Gift: {gift}</source>
        <translation>赠品：{gift}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Buy {buy} get {get} free: {item}</source>
        <translation>买{buy}送{get}：{item}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>every day</source>
        <translation>每天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{percent} % points on {days}</source>
        <translation>{days}积分按{percent}%计</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>basket of at least ¥{amount}</source>
        <translation>消费满 ¥{amount}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>costs {points} points</source>
        <translation>需{points}积分</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>coupon needed</source>
        <translation>需优惠券</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+53"/>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location line="-42"/>
        <source>Tiers: {names}</source>
        <translation>等级：{names}</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Tags: {tags}</source>
        <translation>标签：{tags}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Group: {name}</source>
        <translation>分组：{name}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>from {date}</source>
        <translation>{date} 起</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>until {date}</source>
        <translation>至 {date}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Always</source>
        <translation>长期有效</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>worth {value} ({rate} points = ¥1)</source>
        <translation>价值 {value}（{rate} 积分抵 ¥1）</translation>
    </message>
    <message>
        <location line="+453"/>
        <source>Offer</source>
        <translation>优惠活动</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>What</source>
        <translation>优惠内容</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Valid</source>
        <translation>有效期</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>For</source>
        <translation>适用对象</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Limits</source>
        <translation>限用（每人/总计）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Used</source>
        <translation>已使用</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Coupons</source>
        <translation>优惠券（已用/已发）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../crmdesk/views/eligible_offers.py" line="-192"/>
        <source>{name}: {what}</source>
        <translation>{name}：{what}</translation>
    </message>
</context>
<context>
    <name>offline</name>
    <message>
        <location filename="../../crmdesk/services/offline.py" line="-134"/>
        <source>paying from stored value</source>
        <translation>用储值付款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>charging on credit</source>
        <translation>赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>redeeming points</source>
        <translation>兑换积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a refund</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a top-up</source>
        <translation>充值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>a repayment</source>
        <translation>还款</translation>
    </message>
</context>
<context>
    <name>reports</name>
    <message>
        <location filename="../../crmdesk/reports/base.py" line="+329"/>
        <source>Generated {when} by {who}</source>
        <translation>{who} 于 {when} 生成</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Page {page} / {pages}</source>
        <translation>第 {page} / {pages} 页</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/cards.py" line="+5"/>
        <source>Membership cards</source>
        <translation>会员卡</translation>
    </message>
    <message>
        <location line="+142"/>
        <source>Membership card</source>
        <translation>会员卡</translation>
    </message>
    <message>
        <location line="+15"/>
        <location filename="../../crmdesk/reports/credit_aging.py" line="+74"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+54"/>
        <location filename="../../crmdesk/reports/statement.py" line="+53"/>
        <source>Member No.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+44"/>
        <source>Under 1 hour</source>
        <translation>1 小时以内</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1 to 4 hours</source>
        <translation>1 至 4 小时</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>4 to 24 hours</source>
        <translation>4 至 24 小时</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>24 hours or more</source>
        <translation>24 小时及以上</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No response yet</source>
        <translation>尚未响应</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>{minutes} min</source>
        <translation>{minutes} 分钟</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{hours} h</source>
        <translation>{hours} 小时</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{hours} h {minutes} min</source>
        <translation>{hours} 小时 {minutes} 分钟</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{days} d {hours} h</source>
        <translation>{days} 天 {hours} 小时</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="+139"/>
        <location line="+10"/>
        <location line="+68"/>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+7"/>
        <source>{percent} %</source>
        <translation>{percent}%</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+5"/>
        <source>no cases yet</source>
        <translation>暂无数据</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} of {total}</source>
        <translation>{count} / {total}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>{name} (walk-in)</source>
        <translation>{name}（散客）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Walk-in customer</source>
        <translation>散客</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Nobody yet</source>
        <translation>暂无</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Reply by {time}</source>
        <translation>首次响应期限 {time}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Resolve by {day}</source>
        <translation>解决期限 {day}</translation>
    </message>
    <message>
        <location line="+169"/>
        <location line="+63"/>
        <source>Resolved on time</source>
        <translation>按时解决</translation>
    </message>
    <message>
        <location line="-62"/>
        <location line="+60"/>
        <source>First response on time</source>
        <translation>按时首次响应</translation>
    </message>
    <message>
        <location line="-57"/>
        <location line="+49"/>
        <source>Complaints received</source>
        <translation>受理投诉数</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>{mean} / 5</source>
        <translation>{mean} / 5</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>in {month}</source>
        <translation>{month} 当月</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Median time to first response</source>
        <translation>首次响应时间中位数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>from coming in to the first contact</source>
        <translation>从受理到首次联系</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Median time to resolution</source>
        <translation>解决时间中位数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>of the complaints resolved</source>
        <translation>按已解决的投诉计算</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overdue now</source>
        <translation>当前逾期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>from any month</source>
        <translation>不限受理月份</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Follow-up done</source>
        <translation>已完成回访</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Satisfaction after resolution</source>
        <translation>解决后满意度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} follow-ups</source>
        <translation>{count} 次回访</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repeat complainants</source>
        <translation>重复投诉顾客</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>members</source>
        <translation>名会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Back within {days} days (resolved)</source>
        <translation>{days} 天内回店消费（已解决）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Back within {days} days (not resolved)</source>
        <translation>{days} 天内回店消费（未解决）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Survey: satisfied (4 or 5)</source>
        <translation>调查：满意（4 或 5 分）</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="+366"/>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+10"/>
        <source>No complaints were received in {month}.</source>
        <translation>{month} 未受理任何投诉。</translation>
    </message>
    <message>
        <location line="-3"/>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+1"/>
        <location line="+4"/>
        <source>Complaints by category</source>
        <translation>按类别统计投诉</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="-3"/>
        <location line="+9"/>
        <source>Time to first response</source>
        <translation>首次响应用时</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>From coming in to the first contact with the customer, for the complaints received in {month}; the median was {median}.</source>
        <translation>{month} 受理的投诉从受理到首次联系顾客所用的时间；中位数为 {median}。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Twelve-month trend</source>
        <translation>近 12 个月趋势</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No complaints were received from {first} to {last}.</source>
        <translation>{first} 至 {last} 期间未受理任何投诉。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Complaints received each month from {first} to {last}, and the share of them answered and resolved on time (of those whose deadline has passed).</source>
        <translation>{first} 至 {last} 每月受理的投诉数，以及其中按时响应和按时解决的比例（仅计已过期限的投诉）。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Customer satisfaction</source>
        <translation>顾客满意度</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="-10"/>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+2"/>
        <source>No satisfaction surveys were taken in {month}.</source>
        <translation>{month} 没有满意度调查记录。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+4"/>
        <source>{responses} survey responses in {month}: {percent} of the {scores} scores were 4 or 5 (satisfied).</source>
        <translation>{month} 共收到 {responses} 份调查回复：{scores} 个评分中有 {percent} 为 4 或 5 分（满意）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Compared with {previous}; a question is flagged when its mean drops by more than {points} points.</source>
        <translation>与 {previous} 相比；某题平均分下降超过 {points} 分时将被标记。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dropped since {previous}: {questions}</source>
        <translation>较 {previous} 下降：{questions}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Question</source>
        <translation>题目</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Answers</source>
        <translation>回答数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mean</source>
        <translation>平均分</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Month before</source>
        <translation>上月</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="-93"/>
        <location line="+2"/>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+1"/>
        <source>Change</source>
        <translation>变化</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/complaints_monthly.py" line="+0"/>
        <source>Satisfied</source>
        <translation>满意率</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Alert</source>
        <translation>预警</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>dropped</source>
        <translation>下降</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Overdue complaints</source>
        <translation>逾期投诉</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No complaint is overdue at {time}.</source>
        <translation>截至 {time}，没有逾期投诉。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} complaints are overdue at {time}, whichever month they came in; the longest overdue first.</source>
        <translation>截至 {time}，共有 {count} 件投诉逾期（不论受理月份），逾期最久的排在前面。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The first {shown} are listed.</source>
        <translation>仅列出前 {shown} 件。</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+226"/>
        <source>No.</source>
        <translation>编号</translation>
    </message>
    <message>
        <location line="+0"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+0"/>
        <source>Received</source>
        <translation>受理时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer</source>
        <translation>顾客</translation>
    </message>
    <message>
        <location line="+0"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-38"/>
        <location line="+39"/>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Owner</source>
        <translation>负责人</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Deadline missed</source>
        <translation>已错过的期限</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Late by</source>
        <translation>逾期时长</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Complaints and satisfaction — {month}</source>
        <translation>投诉与满意度 — {month}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Complaints received in {month}, as they stand at {time}; surveys taken in {month}.</source>
        <translation>{month} 受理的投诉（数据截至 {time}）及 {month} 的满意度调查。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/documents.py" line="+116"/>
        <source>Saved group</source>
        <translation>已保存分组</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+34"/>
        <source>Earned on purchases</source>
        <translation>消费获得</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Goodwill for complaints</source>
        <translation>投诉补偿</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Added by hand</source>
        <translation>手动增加</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Opening balances imported</source>
        <translation>导入期初积分</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="-98"/>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+1"/>
        <source>Redeemed</source>
        <translation>兑换</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+1"/>
        <source>Expired</source>
        <translation>过期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Taken back on refunds</source>
        <translation>退款扣回</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Taken away by hand</source>
        <translation>手动扣减</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Imported (negative)</source>
        <translation>导入（负数）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Other ({kind})</source>
        <translation>其他（{kind}）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No tier</source>
        <translation>无等级</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Loyalty summary {period}</source>
        <translation>积分汇总 {period}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Points held and owed as of {when} (shop time) · {rate} points = ¥1 when redeemed</source>
        <translation>截至 {when}（门店时间）的积分持有及负债 · 兑换时 {rate} 积分 = ¥1</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Members by tier</source>
        <translation>各等级会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points movement {period}</source>
        <translation>积分变动 {period}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points due to expire</source>
        <translation>即将到期的积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offer redemptions {period}</source>
        <translation>优惠核销 {period}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Points outstanding</source>
        <translation>未兑换积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Value owed to members</source>
        <translation>积分负债金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Net change in the period</source>
        <translation>本期净变动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offers redeemed in the period</source>
        <translation>本期优惠核销次数</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Points outstanding are the balances of the {members} members who are not closed (frozen members included); {with_points} of them hold points. Their value is what the shop gives if every point is redeemed at today&apos;s rule.</source>
        <translation>未兑换积分指 {members} 名未注销会员（含已冻结会员）的现有积分合计，其中 {with_points} 名持有积分。其价值为按今天的兑换规则全部兑换时门店需付出的金额。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Closed members still hold {points} points; they cannot be used and are not counted.</source>
        <translation>已注销会员仍持有 {points} 积分，这些积分无法使用，不计入统计。</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>No members yet: nobody holds points.</source>
        <translation>尚无会员，无人持有积分。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>All tiers</source>
        <translation>全部等级</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-219"/>
        <location line="+57"/>
        <source>Tier</source>
        <translation>等级</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/credit_aging.py" line="-50"/>
        <source>Credit aging — {date}</source>
        <translation>赊账账龄 — {date}</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Owed on credit</source>
        <translation>赊账欠款</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+68"/>
        <source>Overdue</source>
        <translation>逾期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{share} of what is owed</source>
        <translation>占欠款的 {share}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Members overdue</source>
        <translation>逾期会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>of {count} who owe</source>
        <translation>欠款会员共 {count} 名</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Over 90 days</source>
        <translation>逾期 90 天以上</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the hardest to collect</source>
        <translation>最难收回</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>All</source>
        <translation>合计</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+0"/>
        <location line="+21"/>
        <location filename="../../crmdesk/reports/member_list.py" line="+98"/>
        <source>Members</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Age</source>
        <translation>账龄</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+20"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-2"/>
        <source>Owed</source>
        <translation>欠款</translation>
    </message>
    <message>
        <location line="-20"/>
        <source>Share</source>
        <translation>占比</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Days overdue are counted from each charge&apos;s due day to the end of {date}; a member with charges of different ages counts in each of their buckets.</source>
        <translation>逾期天数从每笔赊账的到期日起算，至 {date} 日终为止；会员名下的赊账账龄不同时，在各相应账龄段分别计入。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{date}, passed</source>
        <translation>{date}（已过期）</translation>
    </message>
    <message>
        <location line="+6"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+22"/>
        <location filename="../../crmdesk/reports/statement.py" line="+48"/>
        <source>Days overdue</source>
        <translation>逾期天数</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Promised to pay</source>
        <translation>承诺还款日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last contact</source>
        <translation>最近联系</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>What members owe on credit at the end of {date} (shop time), by how long it is past its due day.</source>
        <translation>截至 {date} 日终（门店时间）会员的赊账欠款，按超过到期日的时长分段。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>By age</source>
        <translation>按账龄</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+5"/>
        <source>Members who owe</source>
        <translation>欠款会员</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Nobody owes anything on credit at the end of {date}.</source>
        <translation>截至 {date} 日终，没有会员有赊账欠款。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Members overdue first, the longest overdue first; then those not yet due, the most owed first. Phone numbers are left out: see the member&apos;s page.</source>
        <translation>先列逾期会员，逾期最久的在前；再列未到期的会员，欠款最多的在前。不打印手机号，请在会员页面查看。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="-20"/>
        <source>% of members</source>
        <translation>会员占比</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+21"/>
        <source>Points held</source>
        <translation>持有积分</translation>
    </message>
    <message>
        <location line="-20"/>
        <source>% of points</source>
        <translation>积分占比</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+82"/>
        <location line="+24"/>
        <source>Worth</source>
        <translation>折合金额</translation>
    </message>
    <message>
        <location line="-46"/>
        <source>No points were added or taken away in this period.</source>
        <translation>本期没有积分增减。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Points added</source>
        <translation>积分增加</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Points taken away</source>
        <translation>积分减少</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Net change</source>
        <translation>净变动</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/liability.py" line="+31"/>
        <source>Top-ups paid in</source>
        <translation>充值本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bonus given with top-ups</source>
        <translation>充值赠送金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Payments from wallets</source>
        <translation>储值消费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunds back into wallets</source>
        <translation>退款退回储值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cash-outs: principal paid back</source>
        <translation>退卡退款：退还本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cash-outs: bonus forfeited</source>
        <translation>退卡退款：作废赠送</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Corrections (net)</source>
        <translation>储值调整（净额）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored value brought over from an old system</source>
        <translation>从旧系统导入的储值</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Stored-value liability — {month}</source>
        <translation>储值负债 — {month}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>What the shop owes its members in stored value, {first} to {last} (shop time).</source>
        <translation>本店对会员的储值负债，{first} 至 {last}（门店时间）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What the shop owes its members in stored value, from {first} up to {time} (shop time): the month is not over.</source>
        <translation>本店对会员的储值负债，{first} 至 {time}（门店时间）：本月尚未结束。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>principal {principal} · bonus {bonus}</source>
        <translation>本金 {principal} · 赠送 {bonus}</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/reports/statement.py" line="-36"/>
        <location line="+16"/>
        <source>Owed at the start</source>
        <translation>期初结欠</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Paid in by top-ups</source>
        <translation>充值本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} top-ups</source>
        <translation>充值 {count} 笔</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bonus given</source>
        <translation>赠送金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>with the top-ups</source>
        <translation>随充值赠送</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/statement.py" line="-11"/>
        <location line="+17"/>
        <source>Owed at the end</source>
        <translation>期末结欠</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Opening balance</source>
        <translation>期初余额</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Closing balance</source>
        <translation>期末余额</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+2"/>
        <location filename="../../crmdesk/reports/statement.py" line="-10"/>
        <source>Movement</source>
        <translation>变动类型</translation>
    </message>
    <message>
        <location line="+0"/>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+0"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-71"/>
        <source>Entries</source>
        <translation>笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+26"/>
        <location line="+4"/>
        <source>Principal</source>
        <translation>本金</translation>
    </message>
    <message>
        <location line="+0"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-3"/>
        <location line="+3"/>
        <source>Bonus</source>
        <translation>赠送</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Total</source>
        <translation>合计</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Change in the month: principal {principal}, bonus {bonus}, in all {total}.</source>
        <translation>本月变动：本金 {principal}，赠送 {bonus}，合计 {total}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{members} members hold stored value at the close; the largest balance is {largest}.</source>
        <translation>期末共有 {members} 名会员持有储值，最高余额为 {largest}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Principal is what members paid in; bonus is what the shop added. When a card is closed the principal is paid back and the bonus forfeited. Every member counts, closed ones too, until their balance is paid back.</source>
        <translation>本金是会员充入的金额，赠送是本店额外赠送的金额。退卡时退还本金，赠送金额作废。所有会员均计入（包括已注销会员），直至其余额退还为止。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Under the prepaid card rules a member&apos;s stored value is at most {cap} and does not expire.</source>
        <translation>按预付卡规定，会员储值余额最多 {cap}，且长期有效。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>No top-ups or cash-outs in this month.</source>
        <translation>本月没有充值或退卡退款。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>All methods</source>
        <translation>全部方式</translation>
    </message>
    <message>
        <location line="+4"/>
        <location filename="../../crmdesk/reports/member_data.py" line="+279"/>
        <source>Paid by</source>
        <translation>支付方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Top-ups</source>
        <translation>充值笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid in</source>
        <translation>充入金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cash-outs</source>
        <translation>退卡笔数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid back</source>
        <translation>退还金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Net</source>
        <translation>净额</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Principal only: the bonus is never paid in or paid back in money.</source>
        <translation>仅计本金：赠送金额不涉及现金收付。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Movement of the month</source>
        <translation>本月变动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid in and paid back by payment method</source>
        <translation>按支付方式统计充入与退还</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/loyalty_summary.py" line="+1"/>
        <location line="+24"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-29"/>
        <location line="+8"/>
        <location line="+6"/>
        <location line="+98"/>
        <source>Points</source>
        <translation>积分</translation>
    </message>
    <message>
        <location line="-17"/>
        <source>Worth is at today&apos;s rule ({rate} points = ¥1). Every entry of the period counts, closed members&apos; too.</source>
        <translation>折合金额按今天的规则计算（{rate} 积分 = ¥1）。本期所有记录均计入，包括已注销会员的记录。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>No points are due to expire by {day}.</source>
        <translation>截至 {day} 没有即将到期的积分。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Within {days} days</source>
        <translation>{days} 天内</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/reports/member_report.py" line="-42"/>
        <source>Due</source>
        <translation>到期时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last usable day up to</source>
        <translation>最后可用日期截至</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Each row includes the one before it. Members spend their oldest points first; closed members are left out.</source>
        <translation>每行均包含上一行的积分（累计）。会员优先使用最早获得的积分；不含已注销会员。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>No offers were used in this period.</source>
        <translation>本期没有使用任何优惠活动。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>All offers</source>
        <translation>全部优惠活动</translation>
    </message>
    <message>
        <location line="+2"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+60"/>
        <source>Offer</source>
        <translation>优惠活动</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Times used</source>
        <translation>使用次数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Coupons</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+0"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+2"/>
        <source>Points spent</source>
        <translation>消耗积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Discount given</source>
        <translation>优惠金额</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/credit_aging.py" line="-27"/>
        <location filename="../../crmdesk/reports/member_list.py" line="-5"/>
        <source>Total ({count})</source>
        <translation>合计（{count}）</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_list.py" line="+3"/>
        <source>Member list</source>
        <translation>会员列表</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/credit_aging.py" line="-44"/>
        <location filename="../../crmdesk/reports/member_list.py" line="+1"/>
        <source>{count} members</source>
        <translation>共 {count} 名会员</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_list.py" line="+2"/>
        <source>All members</source>
        <translation>全部会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sorted by</source>
        <translation>排序方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Full phone numbers, printed at the owner&apos;s request: keep this list safe.</source>
        <translation>应店主要求打印完整手机号：请妥善保管本名单。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Phone numbers are masked (138****5678).</source>
        <translation>手机号已隐藏部分数字（138****5678）。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_report.py" line="-234"/>
        <source>in use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>reported lost</source>
        <translation>已挂失</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>replaced</source>
        <translation>已换卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stopped</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Member report — {name}</source>
        <translation>会员报告 — {name}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="-1"/>
        <source>Earned</source>
        <translation>获得</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Average score (1 to 5)</source>
        <translation>平均分（1–5 分）</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Net sales</source>
        <translation>净销售额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Receipts</source>
        <translation>小票数</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Member visits</source>
        <translation>会员到店人次</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New members</source>
        <translation>新增会员</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Figure</source>
        <translation>指标</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>this month</source>
        <translation>本月</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>month before</source>
        <translation>上月</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>a year earlier</source>
        <translation>去年同月</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Same days of {month}</source>
        <translation>{month} 同日</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Net sales {month}</source>
        <translation>{month} 净销售额</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Member visits {month}</source>
        <translation>{month} 会员到店人次</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sales by day</source>
        <translation>每日销售额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Net sales (sales less refunds) each day of {month} in yuan, beside the same day a year earlier.</source>
        <translation>{month} 每天的净销售额（销售额减退款，单位：元），与去年同日对比。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Member visits by day</source>
        <translation>每日会员到店</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Members who bought each day (each member once a day), beside the same day a year earlier.</source>
        <translation>每天有消费的会员人数（同一会员一天只计一次），与去年同日对比。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Customer figures have not been worked out yet: refresh customer insight first.</source>
        <translation>尚未计算顾客分析数据：请先刷新顾客洞察。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Customers</source>
        <translation>顾客</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Share of members</source>
        <translation>会员占比</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Share of spend</source>
        <translation>消费占比</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>At the refresh of {day}. Spend is that of the last {months} months; the number of members is in brackets.</source>
        <translation>截至 {day} 的刷新。消费额为最近 {months} 个月的消费；括号内为会员人数。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>RFM segments</source>
        <translation>RFM 客户分群</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>ABC classes</source>
        <translation>ABC 分类</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Members who spent in the last {months} months, biggest spenders first: class A are the fewest who together make 80 % of the spend.</source>
        <translation>最近 {months} 个月有消费的会员，按消费额从高到低排列：A 类是合计贡献 80% 消费额的最少会员。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Lifecycle stages</source>
        <translation>生命周期阶段</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No member has bought anything yet.</source>
        <translation>还没有会员消费过。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Active members by tier</source>
        <translation>各等级会员（正常状态）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No active members yet.</source>
        <translation>还没有正常状态的会员。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Points earned and redeemed, {first} to {last}</source>
        <translation>积分获得与兑换（{first} 至 {last}）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{month}: {earned} earned, {redeemed} redeemed.</source>
        <translation>{month}：获得 {earned} 分，兑换 {redeemed} 分。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Customer satisfaction, {first} to {last}</source>
        <translation>顾客满意度（{first} 至 {last}）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{month}: {score} on average.</source>
        <translation>{month}：平均 {score} 分。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No satisfaction surveys were taken from {first} to {last}.</source>
        <translation>{first} 至 {last} 没有满意度调查记录。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>{count} complaints received in {month}.</source>
        <translation>{month} 共受理投诉 {count} 件。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Churn alerts</source>
        <translation>流失预警</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No member has a churn alert at the refresh of {day}.</source>
        <translation>{day} 刷新时没有会员出现流失预警。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The members with a churn alert who spent the most in the last {months} months: {shown} of {total}. A word or an offer now may bring them back.</source>
        <translation>有流失预警的会员中，最近 {months} 个月消费最多的 {shown} 位（共 {total} 位）。现在问候一声或送上优惠，也许就能把他们请回来。</translation>
    </message>
    <message>
        <location line="+5"/>
        <location filename="../../crmdesk/reports/credit_aging.py" line="+35"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+8"/>
        <location filename="../../crmdesk/reports/statement.py" line="-23"/>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Member no.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+1"/>
        <location filename="../../crmdesk/reports/statement.py" line="+1"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stage</source>
        <translation>阶段</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Why</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Spend, {months} months</source>
        <translation>近 {months} 个月消费</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Customer groups, tiers, balances and churn alerts are those of the customer insight refresh of {day}.</source>
        <translation>顾客分群、等级、余额和流失预警均为 {day} 顾客洞察刷新时的数据。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>That refresh came before the end of {month}: refresh customer insight to count the whole month in them.</source>
        <translation>该次刷新早于 {month} 月底：请刷新顾客洞察，以计入整月数据。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Purchase model: {note}</source>
        <translation>购买预测模型：{note}</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Business review {month}</source>
        <translation>经营月报 {month}</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{first} to {last}, beside the month before ({previous}) and the same month a year earlier ({year_earlier}).</source>
        <translation>{first} 至 {last}，与上月（{previous}）及去年同月（{year_earlier}）对比。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{store}: business review {month}</source>
        <translation>{store} 经营月报 {month}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Held for members at the refresh of {day}: stored value {wallet}, credit owed {owed}.</source>
        <translation>{day} 刷新时：会员储值余额 {wallet}，赊账欠款 {owed}。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_report.py" line="+1"/>
        <source>Card</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gender</source>
        <translation>性别</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Birthday</source>
        <translation>生日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Joined</source>
        <translation>入会日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+20"/>
        <location line="+201"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="-219"/>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>E-mail</source>
        <translation>邮箱</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Company</source>
        <translation>单位</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+5"/>
        <source>Cards</source>
        <translation>会员卡</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>No card has been issued to this member.</source>
        <translation>该会员尚未发卡。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Card number</source>
        <translation>卡号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Issued</source>
        <translation>发卡时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Ended</source>
        <translation>停用时间</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Spend, last 12 months</source>
        <translation>近 12 个月消费</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>No purchases in the last 12 months.</source>
        <translation>近 12 个月没有消费记录。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tier and spend</source>
        <translation>等级与消费</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+7"/>
        <source>Balance</source>
        <translation>现有积分</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>{points} points</source>
        <translation>{points} 积分</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+29"/>
        <location line="+82"/>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="-104"/>
        <source>No points have been earned or spent yet.</source>
        <translation>尚无积分获得或使用记录。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Expires on</source>
        <translation>到期日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>never</source>
        <translation>永久有效</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No points waiting to expire.</source>
        <translation>没有待到期的积分。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Stored value</source>
        <translation>储值余额</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Receipt or note</source>
        <translation>小票号或备注</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Latest {shown} of {total} wallet entries</source>
        <translation>最近 {shown} 条储值记录（共 {total} 条）</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_data.py" line="-67"/>
        <source>Came to us through</source>
        <translation>来源</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Visits and spend</source>
        <translation>到店与消费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{visits} visits, {spend}</source>
        <translation>到店 {visits} 次，消费 {spend}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Payment PIN</source>
        <translation>支付密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>set</source>
        <translation>已设置</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>not set</source>
        <translation>未设置</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Registered</source>
        <translation>登记时间</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Personal data erased</source>
        <translation>个人信息删除时间</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Personal details</source>
        <translation>个人资料</translation>
    </message>
    <message>
        <location line="+8"/>
        <location line="+215"/>
        <source>Given</source>
        <translation>已同意</translation>
    </message>
    <message>
        <location line="-213"/>
        <source>Not recorded</source>
        <translation>未记录</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Offers and news</source>
        <translation>优惠与资讯</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keeping personal data</source>
        <translation>保存个人信息</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Consent</source>
        <translation>同意记录</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>What was bought</source>
        <translation>购买商品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} receipts, oldest first</source>
        <translation>共 {count} 张小票，按时间先后排列</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Points ledger</source>
        <translation>积分流水</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+18"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="-17"/>
        <location line="+17"/>
        <location line="+33"/>
        <location line="+8"/>
        <location line="+28"/>
        <location line="+14"/>
        <location line="+74"/>
        <source>Staff</source>
        <translation>经办人</translation>
    </message>
    <message>
        <location line="-173"/>
        <source>{count} entries, oldest first; the balance is their sum: {points} points</source>
        <translation>共 {count} 条，按时间先后排列；余额为各条之和：{points} 积分</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>No stored value has ever been paid in.</source>
        <translation>从未充值储值。</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+33"/>
        <source>Receipt or method</source>
        <translation>小票号或支付方式</translation>
    </message>
    <message>
        <location line="-25"/>
        <source>Credit</source>
        <translation>赊账</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No credit account and never a debt.</source>
        <translation>未开通赊账，也从未欠款。</translation>
    </message>
    <message>
        <location line="+3"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+7"/>
        <location filename="../../crmdesk/reports/statement.py" line="-4"/>
        <source>{days} days</source>
        <translation>{days} 天</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Granted</source>
        <translation>授信</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>No. {charge}: {amount}</source>
        <translation>第 {charge} 笔：{amount}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Reason or charges settled</source>
        <translation>原因或冲抵的赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Credit entries, oldest first</source>
        <translation>赊账流水，按时间先后排列</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+42"/>
        <source>How</source>
        <translation>方式</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+28"/>
        <location line="+8"/>
        <source>Note</source>
        <translation>记录</translation>
    </message>
    <message>
        <location line="-35"/>
        <source>Promised</source>
        <translation>承诺还款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reminders about the debt</source>
        <translation>催收记录</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Complaint No. {id} · {when} · {category} · {status}</source>
        <translation>投诉编号 {id} · {when} · {category} · {status}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Came in by</source>
        <translation>受理渠道</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Handled by</source>
        <translation>处理人</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>解决时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed</source>
        <translation>结案时间</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>What the customer asked for</source>
        <translation>顾客诉求</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name and phone given</source>
        <translation>留下的姓名和电话</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+89"/>
        <source>What</source>
        <translation>事项</translation>
    </message>
    <message>
        <location line="-82"/>
        <source>Remedy</source>
        <translation>处理方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Refund</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Goodwill points</source>
        <translation>补偿积分</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>How it was put right</source>
        <translation>处理结果</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Satisfaction</source>
        <translation>满意度</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+30"/>
        <source>Comment</source>
        <translation>意见</translation>
    </message>
    <message>
        <location line="-29"/>
        <source>Follow-up</source>
        <translation>回访</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Added</source>
        <translation>添加时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Photos and scans (kept by the shop; ask for a copy)</source>
        <translation>照片和扫描件（由本店保存，如需副本请索取）</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Survey answers</source>
        <translation>满意度调查</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No survey answered.</source>
        <translation>未参加过满意度调查。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Where</source>
        <translation>渠道</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Scores</source>
        <translation>评分</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Batch</source>
        <translation>批次</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Made</source>
        <translation>生成时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Used</source>
        <translation>使用时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Coupons made for this member</source>
        <translation>发给该会员的优惠券</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Coupons and offers</source>
        <translation>优惠券与优惠活动</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>on request</source>
        <translation>应会员要求</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>retention period over</source>
        <translation>超过保存期限</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Change history</source>
        <translation>变更记录</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No changes recorded.</source>
        <translation>没有变更记录。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Before</source>
        <translation>变更前</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>After</source>
        <translation>变更后</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Everything {store} holds on this member as of {when}, for the member to keep. The JSON file handed out with it holds the same data for programs to read. Times are on the shop&apos;s clock (UTC{zone}).</source>
        <translation>截至 {when}，{store} 保存的该会员全部信息，供会员本人留存。随附的 JSON 文件包含相同的数据，便于程序读取。时间均为本店时间（UTC{zone}）。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>A member&apos;s copy of their personal data</source>
        <translation>会员个人信息副本</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{member_no} · as of {when}</source>
        <translation>{member_no} · 截至 {when}</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Personal data — {member_no}</source>
        <translation>个人信息 — {member_no}</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_report.py" line="+2"/>
        <location filename="../../crmdesk/reports/statement.py" line="+6"/>
        <source>Credit limit</source>
        <translation>赊账额度</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/statement.py" line="-10"/>
        <source>No credit account</source>
        <translation>未开通赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Terms</source>
        <translation>还款期限</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Available</source>
        <translation>剩余额度</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Oldest overdue</source>
        <translation>最长逾期</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Credit stopped</source>
        <translation>已停止赊账</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Nothing is owed.</source>
        <translation>没有欠款。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{shown} of {total} open charges, oldest due first</source>
        <translation>未还清的赊账 {shown} 笔（共 {total} 笔），最早到期的在前</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open charges, oldest due first</source>
        <translation>未还清的赊账，最早到期的在前</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/statement.py" line="+52"/>
        <source>Bought</source>
        <translation>赊购日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/reports/statement.py" line="+2"/>
        <source>Still owed</source>
        <translation>未还金额</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Stored value and credit</source>
        <translation>储值与赊账</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Visits</source>
        <translation>到店次数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Total spend</source>
        <translation>累计消费</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/business_review.py" line="-197"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+1"/>
        <source>Average basket</source>
        <translation>客单价</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_report.py" line="+1"/>
        <source>Refunds</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} ({amount})</source>
        <translation>{count} 笔（{amount}）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>First visit</source>
        <translation>首次到店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last visit</source>
        <translation>最近到店</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Favourite categories</source>
        <translation>常购品类</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Items</source>
        <translation>商品数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Spend</source>
        <translation>消费金额</translation>
    </message>
    <message>
        <location line="-78"/>
        <location line="+82"/>
        <location line="+20"/>
        <location filename="../../crmdesk/reports/statement.py" line="-24"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="-19"/>
        <source>Till</source>
        <translation>收银台</translation>
    </message>
    <message>
        <location line="-43"/>
        <location line="+43"/>
        <location filename="../../crmdesk/reports/statement.py" line="+1"/>
        <location line="+21"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="-42"/>
        <location line="+43"/>
        <location filename="../../crmdesk/reports/statement.py" line="+1"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Latest {shown} of {total} receipts</source>
        <translation>最近 {shown} 张小票（共 {total} 张）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No purchases recorded yet.</source>
        <translation>尚无消费记录。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Purchases</source>
        <translation>消费记录</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+9"/>
        <source>Offers used</source>
        <translation>已使用的优惠</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>No offers used yet.</source>
        <translation>尚未使用过优惠活动。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{count} offers used, {amount} saved in all.</source>
        <translation>共使用优惠 {count} 次，累计优惠 {amount}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Coupon</source>
        <translation>优惠券</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Discount</source>
        <translation>优惠金额</translation>
    </message>
    <message>
        <location line="+10"/>
        <location line="+20"/>
        <source>Complaints</source>
        <translation>投诉</translation>
    </message>
    <message>
        <location line="-19"/>
        <source>No complaints from this member.</source>
        <translation>该会员没有投诉记录。</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_data.py" line="-130"/>
        <location filename="../../crmdesk/reports/member_report.py" line="+2"/>
        <source>What happened</source>
        <translation>投诉内容</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/member_report.py" line="+1"/>
        <source>Outcome</source>
        <translation>处理结果</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>satisfaction {score}/5</source>
        <translation>满意度 {score}/5</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Latest {shown} of {total} complaints</source>
        <translation>最近 {shown} 件投诉（共 {total} 件）</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{member_no} · {tier} · as of {when}</source>
        <translation>{member_no} · {tier} · 截至 {when}</translation>
    </message>
    <message>
        <location line="+3"/>
        <location filename="../../crmdesk/services/audit_actions.py" line="-115"/>
        <source>Member report</source>
        <translation>会员报告</translation>
    </message>
    <message>
        <location filename="../../crmdesk/reports/statement.py" line="-69"/>
        <source>Statement of account — {name}</source>
        <translation>对账单 — {name}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{movement} ({method})</source>
        <translation>{movement}（{method}）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{movement}: {reason}</source>
        <translation>{movement}：{reason}</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Period</source>
        <translation>对账期间</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Days to pay</source>
        <translation>还款期限</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Bought on credit</source>
        <translation>赊账消费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>in the period</source>
        <translation>本期内</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid back and taken off</source>
        <translation>还款及减免</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>repayments, refunds, write-offs</source>
        <translation>还款、退款、坏账核销</translation>
    </message>
    <message>
        <location line="+9"/>
        <location line="+22"/>
        <source>Due on</source>
        <translation>到期日</translation>
    </message>
    <message>
        <location line="-21"/>
        <source>Charged</source>
        <translation>赊账金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Paid or taken off</source>
        <translation>还款或减免</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Still owed after</source>
        <translation>欠款余额</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Nothing was bought on credit or paid back in this period.</source>
        <translation>本期没有赊账或还款。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Nothing is owed at the end of the period.</source>
        <translation>期末没有欠款。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>I have checked this statement: on {date} I owe {amount}.</source>
        <translation>本人已核对本对账单：截至 {date}，本人欠款 {amount}。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Member&apos;s signature</source>
        <translation>会员签名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For the shop</source>
        <translation>店方签字</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Statement of account</source>
        <translation>对账单</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{member_no} · credit from {first} to {last} (shop time)</source>
        <translation>{member_no} · 赊账明细 {first} 至 {last}（门店时间）</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Movements</source>
        <translation>往来明细</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Still owed at the end</source>
        <translation>期末未还明细</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Charges not yet paid off, oldest due first; repayments settle the oldest first.</source>
        <translation>尚未还清的赊账，最早到期的在前；还款优先冲抵最早的赊账。</translation>
    </message>
</context>
<context>
    <name>server</name>
    <message>
        <location filename="../../crmdesk/services/server.py" line="+3"/>
        <source>Windows: download the PostgreSQL installer from https://www.postgresql.org/download/windows/ and run it; note the password you give the &apos;postgres&apos; user, keep port 5432, and let the installer add PostgreSQL to the firewall. Then run: crmdesk server setup --admin-password-stdin</source>
        <translation>Windows：从 https://www.postgresql.org/download/windows/ 下载 PostgreSQL 安装程序并运行；记下为“postgres”用户设置的密码，端口保持 5432，并允许安装程序把 PostgreSQL 加入防火墙。然后运行：crmdesk server setup --admin-password-stdin</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Debian or Ubuntu: sudo apt install postgresql, give its &apos;postgres&apos; user a password once (sudo -u postgres psql -c &quot;ALTER USER postgres PASSWORD &apos;a-password&apos;&quot;), then run: crmdesk server setup --admin-password-stdin</source>
        <translation>Debian 或 Ubuntu：sudo apt install postgresql，先给它的“postgres”用户设置一次密码（sudo -u postgres psql -c &quot;ALTER USER postgres PASSWORD &apos;a-password&apos;&quot;），然后运行：crmdesk server setup --admin-password-stdin</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Windows: open Services, find &apos;postgresql-x64-…&apos;, and choose Start (and Automatic start-up).</source>
        <translation>Windows：打开“服务”，找到“postgresql-x64-…”，选择“启动”（并设为自动启动）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Debian or Ubuntu: sudo systemctl enable --now postgresql</source>
        <translation>Debian 或 Ubuntu：sudo systemctl enable --now postgresql</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Give the password of PostgreSQL&apos;s &apos;postgres&apos; user (--admin-password-stdin); on Debian or Ubuntu give it one first: sudo -u postgres psql -c &quot;ALTER USER postgres PASSWORD &apos;a-password&apos;&quot; (or run the setup as that user: sudo -u postgres crmdesk server setup). Or name the administrator&apos;s connection with --admin-url.</source>
        <translation>请提供 PostgreSQL“postgres”用户的密码（--admin-password-stdin）；Debian 或 Ubuntu 上请先给它设置密码：sudo -u postgres psql -c &quot;ALTER USER postgres PASSWORD &apos;a-password&apos;&quot;（或以该用户身份运行：sudo -u postgres crmdesk server setup）。也可以用 --admin-url 指定管理员连接。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>PostgreSQL listens on this computer only (listen_addresses = &apos;{value}&apos;), so the tills cannot reach it yet: set listen_addresses = &apos;*&apos; in postgresql.conf, add &apos;host {database} {role} samenet scram-sha-256&apos; to pg_hba.conf, and restart PostgreSQL.</source>
        <translation>PostgreSQL 目前只在本机监听（listen_addresses = &apos;{value}&apos;），收银机还连不上：请在 postgresql.conf 中设置 listen_addresses = &apos;*&apos;，在 pg_hba.conf 中加入“host {database} {role} samenet scram-sha-256”，然后重启 PostgreSQL。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Let the tills through this computer&apos;s firewall on port {port} (TCP).</source>
        <translation>请在本机防火墙中为收银机放行端口 {port}（TCP）。</translation>
    </message>
</context>
<context>
    <name>slips</name>
    <message>
        <location filename="../../crmdesk/reports/slips.py" line="+6"/>
        <source>Top-up receipt</source>
        <translation>充值小票</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cash-out slip</source>
        <translation>退卡凭条</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IOU — bought on credit</source>
        <translation>赊账单（赊购商品）</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>No.</source>
        <translation>编号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{receipt} (till {till})</source>
        <translation>{receipt}（收银机 {till}）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Receipt</source>
        <translation>小票号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member</source>
        <translation>会员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Member No.</source>
        <translation>会员编号</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Phone</source>
        <translation>手机</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Paid in</source>
        <translation>充值金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+23"/>
        <source>Paid by</source>
        <translation>支付方式</translation>
    </message>
    <message>
        <location line="-22"/>
        <source>Bonus</source>
        <translation>赠送金额</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Added to the wallet</source>
        <translation>计入储值</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Balance</source>
        <translation>储值余额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>of which principal</source>
        <translation>其中本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>of which bonus</source>
        <translation>其中赠送</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+44"/>
        <source>Cashier</source>
        <translation>收银员</translation>
    </message>
    <message>
        <location line="-43"/>
        <source>Stored value does not expire. When the card is closed the principal is paid back; the bonus is not.</source>
        <translation>储值长期有效。退卡时退还本金，赠送金额不予退还。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Principal paid back</source>
        <translation>退还本金</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bonus forfeited</source>
        <translation>作废赠送</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Balance after</source>
        <translation>剩余储值</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Reason: {reason}</source>
        <translation>原因：{reason}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Paid out by</source>
        <translation>经办人</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>I have received the principal above in full and closed my stored-value balance; the bonus is forfeited.</source>
        <translation>本人已全额收到上述退还本金，储值余额已结清，赠送金额作废。</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+27"/>
        <source>Member&apos;s signature</source>
        <translation>会员签名</translation>
    </message>
    <message>
        <location line="-26"/>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Purchase total</source>
        <translation>消费金额</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>On credit</source>
        <translation>赊账金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Due on</source>
        <translation>还款日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owed in all</source>
        <translation>累计欠款</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Credit limit</source>
        <translation>赊账额度</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Beyond the limit, approved by</source>
        <translation>超额批准人</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>I owe {amount} for the goods above and will pay it by {due}.</source>
        <translation>本人赊购上述商品，欠款 {amount}，将于 {due} 前还清。</translation>
    </message>
</context>
<context>
    <name>surveys</name>
    <message>
        <location filename="../../crmdesk/services/surveys.py" line="-185"/>
        <source>Very satisfied</source>
        <translation>非常满意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisfied</source>
        <translation>满意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Neutral</source>
        <translation>一般</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dissatisfied</source>
        <translation>不满意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Very dissatisfied</source>
        <translation>非常不满意</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Service attitude</source>
        <translation>服务态度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Checkout speed</source>
        <translation>收银速度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Product quality</source>
        <translation>商品质量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Price</source>
        <translation>价格</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Store environment</source>
        <translation>购物环境</translation>
    </message>
</context>
<context>
    <name>terms</name>
    <message>
        <location filename="../../crmdesk/views/common.py" line="-20"/>
        <source>Cashier</source>
        <translation>收银员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Supervisor</source>
        <translation>主管</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Owner</source>
        <translation>店主</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/member_query.py" line="-264"/>
        <source>Active</source>
        <translation>正常</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Frozen</source>
        <translation>冻结</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed</source>
        <translation>已注销</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>active</source>
        <translation>正常</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>frozen</source>
        <translation>已冻结</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>closed</source>
        <translation>已注销</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not given</source>
        <translation>未填写</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/members.py" line="-27"/>
        <source>No marketing</source>
        <translation>不接收营销</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text messages</source>
        <translation>短信</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>E-mail</source>
        <translation>邮件</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/cards.py" line="-178"/>
        <source>In use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Replaced</source>
        <translation>已换卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reported lost</source>
        <translation>已挂失</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stopped</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>in use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>replaced</source>
        <translation>已换卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>reported lost</source>
        <translation>已挂失</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>stopped</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/loyalty.py" line="-20"/>
        <source>Earned</source>
        <translation>获得</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Redeemed</source>
        <translation>兑换</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/credit.py" line="-644"/>
        <location filename="../../crmdesk/services/payments.py" line="-77"/>
        <source>On credit</source>
        <translation>赊账</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repayment</source>
        <translation>还款</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../crmdesk/services/loyalty.py" line="+1"/>
        <location filename="../../crmdesk/services/purchases.py" line="-394"/>
        <location filename="../../crmdesk/services/wallet.py" line="-473"/>
        <source>Refund</source>
        <translation>退款</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Written off</source>
        <translation>坏账核销</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Opening debt</source>
        <translation>期初欠款</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not yet due</source>
        <translation>未到期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1–30 days overdue</source>
        <translation>逾期 1–30 天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>31–60 days overdue</source>
        <translation>逾期 31–60 天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>61–90 days overdue</source>
        <translation>逾期 61–90 天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Over 90 days overdue</source>
        <translation>逾期 90 天以上</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Phone call</source>
        <translation>电话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>At the shop</source>
        <translation>来店</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text message</source>
        <translation>短信</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/loyalty.py" line="+1"/>
        <location filename="../../crmdesk/services/wallet.py" line="+2"/>
        <source>Adjustment</source>
        <translation>调整</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expired</source>
        <translation>过期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Goodwill</source>
        <translation>补偿</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Imported</source>
        <translation>导入</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/purchases.py" line="-1"/>
        <source>Sale</source>
        <translation>消费</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/members.py" line="-784"/>
        <source>Counter</source>
        <translation>门店登记</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/credit.py" line="+1"/>
        <location filename="../../crmdesk/services/members.py" line="+1"/>
        <source>WeChat</source>
        <translation>微信</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/members.py" line="+1"/>
        <source>Event</source>
        <translation>活动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Back office</source>
        <translation>后台录入</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/payments.py" line="-10"/>
        <source>Cash</source>
        <translation>现金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WeChat Pay</source>
        <translation>微信支付</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Alipay</source>
        <translation>支付宝</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bank card</source>
        <translation>银行卡</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Stored value</source>
        <translation>储值</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/credit.py" line="+1"/>
        <location filename="../../crmdesk/services/payments.py" line="-5"/>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/wallet.py" line="-4"/>
        <source>Top-up</source>
        <translation>充值</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Payment</source>
        <translation>消费</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cash-out</source>
        <translation>退卡退款</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Opening balance</source>
        <translation>期初余额</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Principal and bonus in proportion</source>
        <translation>本金和赠送按比例扣</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Principal first</source>
        <translation>先扣本金</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bonus first</source>
        <translation>先扣赠送</translation>
    </message>
    <message>
        <location filename="../../crmdesk/services/backups.py" line="-481"/>
        <source>daily</source>
        <translation>每日</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>during use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>at close</source>
        <translation>关闭时</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>by hand</source>
        <translation>手动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>before a restore</source>
        <translation>恢复前</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>before an import</source>
        <translation>导入前</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>before a repair</source>
        <translation>修复前</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>before anonymising</source>
        <translation>匿名化前</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>damaged database kept</source>
        <translation>保留的损坏数据库</translation>
    </message>
</context>
</TS>
